"""Schema fragments shared by the producers' catalogs (not itself a producer)."""

SCHEMAS: dict = {}

ID = {"type": "string", "minLength": 1, "maxLength": 64}
UUID = {"type": "string", "format": "uuid", "minLength": 36, "maxLength": 36}
SUBJECT = {"type": "string", "minLength": 1, "maxLength": 128}
TIMESTAMP = {"type": "string", "minLength": 20}
NUMBER_0_1 = {"type": "number", "minimum": 0, "maximum": 1}


def obj(required: dict, optional: dict | None = None) -> dict:
    """An object schema with these required and optional properties and nothing else."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": sorted(required),
        "properties": {**required, **(optional or {})},
    }
