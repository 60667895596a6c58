"""The consent app's pages: the customer's preference page (public, reached by a signed link) and the staff's link.

The public pages need no login (``login_not_required``) and show nothing without a valid link: an expired, forged or
altered one gets the same plain "not found" page, whatever went wrong. They are never cached, never indexed, and send
no referrer to other sites, so the link does not travel further than the customer's browser and this site.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from consent.registry import subject_model
from consent.services.preferences import (
    REQUEST_KINDS,
    InvalidPreferenceLink,
    PreferenceChoice,
    preference_choices,
    preference_link_customer,
    preference_link_mint,
    preference_request_create,
    preferences_update,
)

DONE_MESSAGES = {
    "saved": _("Your choices are saved."),
    "unchanged": _("Nothing changed: your choices were already these."),
    "access": _("Your request for a copy of your data is received. We answer within one month."),
    "erasure": _("Your request for erasure is received. We answer within one month."),
    "already": _("A request of this kind is already being handled. We answer within one month of it."),
}
CONFIRM_ERASURE = _("Tick the box to confirm that you ask for the erasure of your data.")


def public_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """No login, no cache, no robots, no referrer to other sites: the page is the customer's alone."""

    @login_not_required
    @never_cache
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        # Same-origin only: the link never reaches another site. ("no-referrer" would make browsers send a null
        # Origin with the page's own forms, which the CSRF check rightly refuses.)
        response["Referrer-Policy"] = "same-origin"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapped


class PreferencesForm(forms.Form):
    """One box per purpose shown; `shown` names them, so a purpose added since the page was opened is left alone."""

    shown = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, choices: list[PreferenceChoice], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.choices = choices
        self.fields["shown"].initial = ",".join(choice.key for choice in choices)
        for choice in choices:
            self.fields[f"purpose_{choice.key}"] = forms.BooleanField(
                required=False, initial=choice.allowed, label=choice.name
            )

    def decided(self) -> dict[str, bool]:
        shown = set(self.cleaned_data["shown"].split(","))
        return {
            choice.key: self.cleaned_data[f"purpose_{choice.key}"] for choice in self.choices if choice.key in shown
        }


def _invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "consent/preferences_invalid.html", status=404)


def _client(request: HttpRequest) -> tuple[str, str]:
    """The evidence of who acted: the address seen (and the proxy's forwarded-for, when there is one), the browser."""
    address = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        address = f"{address} (forwarded for {forwarded[:200]})"
    return address, request.META.get("HTTP_USER_AGENT", "")


def _page(request: HttpRequest, token: str, customer, form=None, erasure_error: str = "") -> HttpResponse:
    form = form or PreferencesForm(choices=preference_choices(customer=customer))
    context = {
        "token": token,
        "form": form,
        "rows": [(choice, form[f"purpose_{choice.key}"]) for choice in form.choices],
        "done": DONE_MESSAGES.get(request.GET.get("done", "")),
        "erasure_error": erasure_error,
    }
    return render(request, "consent/preferences.html", context, status=400 if erasure_error else 200)


@public_page
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    try:
        customer = preference_link_customer(token=token)
    except InvalidPreferenceLink:
        return _invalid(request)
    if request.method != "POST":
        return _page(request, token, customer)
    form = PreferencesForm(request.POST, choices=preference_choices(customer=customer))
    if not form.is_valid():
        return _page(request, token, customer, form=form)
    address, user_agent = _client(request)
    events = preferences_update(customer=customer, choices=form.decided(), ip_address=address, user_agent=user_agent)
    done = "saved" if events else "unchanged"
    return HttpResponseRedirect(f"{reverse('consent:preferences', kwargs={'token': token})}?done={done}")


@public_page
@require_POST
def preferences_request(request: HttpRequest, token: str) -> HttpResponse:
    try:
        customer = preference_link_customer(token=token)
    except InvalidPreferenceLink:
        return _invalid(request)
    kind = request.POST.get("kind", "")
    if kind not in REQUEST_KINDS:
        return _page(request, token, customer)
    if kind == "erasure" and request.POST.get("confirm") != "yes":
        return _page(request, token, customer, erasure_error=CONFIRM_ERASURE)
    _, created = preference_request_create(customer=customer, kind=kind)
    done = kind if created else "already"
    return HttpResponseRedirect(f"{reverse('consent:preferences', kwargs={'token': token})}?done={done}")


@require_POST
@permission_required("consent.view_preferencekey", raise_exception=True)
def preference_link(request: HttpRequest, customer_id) -> HttpResponse:
    """For CRM staff and the DPO: a customer's link, to send them (by e-mail, or read out on the phone)."""
    customer = get_object_or_404(subject_model()._default_manager, pk=customer_id)
    base_url = getattr(settings, "PREFERENCE_LINK_BASE_URL", "") or request.build_absolute_uri("/")
    link = preference_link_mint(customer=customer, base_url=base_url)
    days = getattr(settings, "PREFERENCE_LINK_MAX_AGE_DAYS", None)
    return render(request, "consent/preference_link.html", {"customer": customer, "link": link, "days": days})
