"""Token minting and local verification."""
import time

import jwt
import pytest

from assay_shared.auth.tokens import Principal, TokenError, TokenVerifier, keypair_generate, token_mint

KEYS = keypair_generate(kid="k1")
OTHER = keypair_generate(kid="k2")


def mint(**overrides):
    args = {"private_pem": KEYS.private_pem, "kid": "k1", "tenant": "acme", "subject": "ann-1", "roles": ["annotator"]}
    return token_mint(**{**args, **overrides})


def test_round_trip():
    principal = TokenVerifier({"k1": KEYS.public_pem}).verify(mint())
    assert principal == Principal(tenant="acme", subject="ann-1", roles=frozenset({"annotator"}), token_id=principal.token_id)


def test_rotation_accepts_both_keys():
    verifier = TokenVerifier({"k1": KEYS.public_pem, "k2": OTHER.public_pem})
    assert verifier.verify(mint(private_pem=OTHER.private_pem, kid="k2")).subject == "ann-1"
    assert verifier.verify(mint()).subject == "ann-1"


@pytest.mark.parametrize("token,code", [
    (lambda: mint(ttl_seconds=-60), "token_expired"),
    (lambda: mint(kid="k9"), "token_unknown_key"),
    (lambda: mint(private_pem=OTHER.private_pem), "token_invalid_signature"),
    (lambda: mint()[:-4] + "AAAA", "token_invalid_signature"),
    (lambda: "abc.def", "token_malformed"),
    (lambda: jwt.encode({"sub": "x", "tenant": "acme", "roles": ["annotator"], "iss": "assay", "aud": "assay",
                         "iat": int(time.time()), "exp": int(time.time()) + 60}, "s" * 32, algorithm="HS256",
                        headers={"kid": "k1"}), "token_invalid"),
    (lambda: jwt.encode({"sub": "x", "roles": ["annotator"], "iss": "assay", "aud": "assay", "iat": int(time.time()),
                         "exp": int(time.time()) + 60}, KEYS.private_pem, algorithm="EdDSA", headers={"kid": "k1"}),
     "token_invalid"),
])
def test_bad_tokens_refused(token, code):
    with pytest.raises(TokenError) as caught:
        TokenVerifier({"k1": KEYS.public_pem}).verify(token())
    assert caught.value.code == code


@pytest.mark.parametrize("args,message", [
    ({"tenant": "Acme Corp"}, "tenant 'Acme Corp' must match"),
    ({"subject": ""}, "subject '' must match"),
    ({"roles": ["root"]}, "unknown roles ['root']"),
])
def test_mint_refuses_bad_claims(args, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        mint(**args)
