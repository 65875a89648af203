"""Review: the reviewer's queue, one item with the answer drawn beside the consensus, accept / reject."""
from __future__ import annotations

import json

from django.http import Http404
from django.shortcuts import redirect, render

from assay_console.drawing import choices_of, shapes_of, text_segments
from assay_console.services import ApiError, api


def _editable(answer, kind: str, *, url: str, text: str | None) -> dict | None:
    """What the correction starts from: boxes and polygons (Annotorious) and keypoints on an image, spans of a
    text, the free text, or the chosen labels. None when the answer cannot be corrected here."""
    if not isinstance(answer, dict):
        return None
    if kind in ("bbox", "polygon", "keypoints") and url and text is None:
        return {"answer_type": kind, "objects": [o for o in answer.get("objects") or [] if isinstance(o, dict)]}
    if kind == "text_span" and text is not None:
        return {"answer_type": kind, "text": text, "spans": [s for s in answer.get("spans") or [] if isinstance(s, dict)]}
    if kind == "free_text":
        return {"answer_type": kind, "text": answer.get("text") if isinstance(answer.get("text"), str) else ""}
    if kind in ("single_choice", "multi_choice"):
        return {"answer_type": kind, "labels": choices_of(answer)}
    return None


def _corrected(post, kind: str) -> tuple[dict | None, dict[str, list[str]]]:
    """The corrected answer from the form: the editor's JSON (shapes, points, spans), else the typed text or the
    chosen labels."""
    if kind == "free_text":
        return {"text": post.get("corrected_text", "")}, {}
    if kind == "single_choice":
        label = post.get("corrected_label", "")
        return ({"label": label}, {}) if label else (None, {"corrected_answer": ["choose the right label"]})
    if kind == "multi_choice":
        return {"labels": post.getlist("corrected_labels")}, {}
    try:
        return json.loads(post.get("corrected_answer", "")), {}
    except json.JSONDecodeError:
        return None, {"corrected_answer": ["the correction did not arrive: correct the answer on the page first"]}


def queue(request):
    client = api(request, "review")
    project_id = request.GET.get("project_id", "").strip() or None
    pending = client.get("/review-items", status="pending", project_id=project_id).get("results", [])
    claimed = [i for i in client.get("/review-items", status="claimed", project_id=project_id).get("results", [])
               if i.get("claimed_by") == request.person.subject]
    notice = "nothing is waiting for review" if request.GET.get("empty") else ""
    return render(request, "console/review_queue.html", {"pending": pending[:200], "pending_count": len(pending),
                                                         "claimed": claimed, "notice": notice})


def claim(request):
    if request.method != "POST":
        return redirect("review")
    body = {"project_id": request.POST["project_id"]} if request.POST.get("project_id") else {}
    item = api(request, "review").post("/review-items/claim", body)
    if not item:
        return redirect("/review?empty=1")
    return redirect("review-item", review_id=item["review_id"])


def _item(client, review_id: str, subject: str) -> dict:
    """The item by id (review's `review-items/{id}`): decided ones to any reviewer, a claimed one to its holder."""
    try:
        found = client.get(f"/review-items/{review_id}")
    except ApiError as exc:
        if exc.status == 404:
            raise Http404("no such review item") from exc
        raise
    if found["status"] == "decided" or (found["status"] == "claimed" and found.get("claimed_by") == subject):
        return found
    raise Http404("this review item is not claimed by you")


def item(request, review_id):
    client = api(request, "review")
    errors: dict[str, list[str]] = {}
    found = _item(client, review_id, request.person.subject)
    task = api(request, "assignment").get(f"/tasks/{found['task_id']}/answers")
    if request.method == "POST":
        verdict = request.POST.get("verdict", "")
        comment = request.POST.get("comment", "").strip()
        body = {"verdict": verdict, "comment": comment}
        if verdict not in ("accepted", "rejected", "corrected"):
            errors["verdict"] = ["choose accept, reject or correct"]
        elif verdict == "rejected" and not comment:
            errors["comment"] = ["say what is wrong: the annotator sees it"]
        elif verdict == "corrected":
            corrected, errors = _corrected(request.POST, task["answer_type"])
            if corrected is not None:
                body["corrected_answer"] = corrected
        if not errors:
            try:
                client.post(f"/review-items/{review_id}/decision", body)
                return redirect("review")
            except ApiError as exc:
                if exc.status in (401, 403, 404):
                    raise
                errors = dict(exc.fields) or {"general": [exc.message]}
    submission = next((s for s in task["submissions"] if s["submission_id"] == str(found["submission_id"])), None)
    try:
        consensus = api(request, "scoring").get(f"/consensus/{found['task_id']}")
    except ApiError as exc:
        if exc.status != 404:
            raise
        consensus = None
    kind = task["answer_type"]
    answer = submission["answer"] if submission else None
    data = task["data"] if isinstance(task["data"], dict) else {}
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    text = metadata.get("text") if isinstance(metadata.get("text"), str) else None
    context = {
        "item": found, "task": task, "submission": submission, "consensus": consensus, "answer_type": kind,
        "url": data.get("url", ""), "width": metadata.get("width") or 1000, "height": metadata.get("height") or 750,
        "shapes": shapes_of(answer, answer_type=kind, kind="answer")
        + shapes_of(consensus["answer"] if consensus else None, answer_type=kind, kind="consensus"),
        "choices": choices_of(answer), "consensus_choices": choices_of(consensus["answer"] if consensus else None),
        "text": text, "segments": text_segments(text, answer) if text is not None and kind == "text_span" else [],
        "consensus_segments": text_segments(text, consensus["answer"]) if text is not None and consensus
        and kind == "text_span" else [],
        "errors": errors, "form": request.POST if errors else {},
        "editable": _editable(answer, kind, url=data.get("url", ""), text=text),
    }
    return render(request, "console/review_item.html", context, status=400 if errors else 200)
