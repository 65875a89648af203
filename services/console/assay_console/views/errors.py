from django.shortcuts import render


def csrf_failure(request, reason=""):
    return render(request, "console/403.html", {"csrf": True, "reason": reason}, status=403)
