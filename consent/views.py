"""The consent app's pages: the customer's preference page (public, reached by a signed link) and the staff's actions
that deliver a link to the customer (by e-mail, or in a letter they print).

The public pages need no login (``login_not_required``) and show nothing without a valid link: an expired, forged or
altered one gets the same plain "not found" page, whatever went wrong. They are never cached, never indexed, and send
no referrer to other sites, so the link does not travel further than the customer's browser and this site. They
refuse to act for a signed-in user: the page is the customer's, and staff record what a customer told them in the
consent ledger, with their evidence and their name.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import ValidationError
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
    preference_letter,
    preference_link_email,
    preference_link_resolve,
    preference_request_create,
    preferences_update,
)
from consent.services.subject import subject_survivor

DONE_MESSAGES = {
    "saved": _("Your choices are saved."),
    "unchanged": _("Nothing changed: your choices were already these."),
    "access": _("Your request for a copy of your data is received. We answer within one month."),
    "erasure": _("Your request for erasure is received. We answer within one month."),
    "already": _("A request of this kind is already being handled. We answer within one month of it."),
}
CONFIRM_ERASURE = _("Tick the box to confirm that you ask for the erasure of your data.")
LINK_EMAILED = _("The link to the customer's privacy choices was e-mailed to the customer's address.")
EMAIL_NOT_SENT = _("The e-mail could not be sent: the mail server refused it. Try again later, or print a letter.")
UNKNOWN_DELIVERY = _("Choose how the link reaches the customer: by e-mail or in a letter.")
DELIVERIES = ("email", "post")


def public_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """No login, no cache, no robots, no referrer to other sites: the page is the customer's alone."""

    @login_not_required
    @never_cache
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated:
            # Staff never act as the customer: not a choice, not a request, not even a look at the page.
            response = render(request, "consent/preferences_staff.html", status=403)
        else:
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
        link = preference_link_resolve(token=token)
    except InvalidPreferenceLink:
        return _invalid(request)
    customer = link.customer
    if request.method != "POST":
        return _page(request, token, customer)
    form = PreferencesForm(request.POST, choices=preference_choices(customer=customer))
    if not form.is_valid():
        return _page(request, token, customer, form=form)
    address, user_agent = _client(request)
    events = preferences_update(
        customer=customer, choices=form.decided(), ip_address=address, user_agent=user_agent, link=link.key
    )
    done = "saved" if events else "unchanged"
    return HttpResponseRedirect(f"{reverse('consent:preferences', kwargs={'token': token})}?done={done}")


@public_page
@require_POST
def preferences_request(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = preference_link_resolve(token=token)
    except InvalidPreferenceLink:
        return _invalid(request)
    customer = link.customer
    kind = request.POST.get("kind", "")
    if kind not in REQUEST_KINDS:
        return _page(request, token, customer)
    if kind == "erasure" and request.POST.get("confirm") != "yes":
        return _page(request, token, customer, erasure_error=CONFIRM_ERASURE)
    _, created = preference_request_create(customer=customer, kind=kind, link=link.key)
    done = kind if created else "already"
    return HttpResponseRedirect(f"{reverse('consent:preferences', kwargs={'token': token})}?done={done}")


def _base_url(request: HttpRequest) -> str:
    return settings.PREFERENCE_LINK_BASE_URL or request.build_absolute_uri("/")


@require_POST
@permission_required("consent.add_preferencekey", raise_exception=True)
def preference_link(request: HttpRequest, customer_id) -> HttpResponse:
    """For CRM staff and the DPO: deliver a customer's link to the customer, never to themselves.

    ``delivery=email`` e-mails it to the customer's address (staff see a confirmation, not the link);
    ``delivery=post`` gives a letter to print and post to the customer's address, whose link names who printed it.
    A merged customer's link is the survivor's.
    """
    customer = subject_survivor(get_object_or_404(subject_model()._default_manager, pk=customer_id))
    profile = reverse("customers:profile", args=[customer.pk])
    delivery = request.POST.get("delivery", "")
    if delivery not in DELIVERIES:
        messages.error(request, UNKNOWN_DELIVERY)
        return HttpResponseRedirect(profile)
    try:
        if delivery == "post":
            letter = preference_letter(customer=customer, actor=request.user, base_url=_base_url(request))
        else:
            preference_link_email(customer=customer, actor=request.user, base_url=_base_url(request))
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return HttpResponseRedirect(profile)
    except (OSError, smtplib.SMTPException):
        messages.error(request, EMAIL_NOT_SENT)
        return HttpResponseRedirect(profile)
    if delivery == "email":
        messages.success(request, LINK_EMAILED)
        return HttpResponseRedirect(profile)
    days = settings.PREFERENCE_LINK_MAX_AGE_DAYS
    response = render(
        request, "consent/preference_letter.html", {"customer": letter.customer, "link": letter.link, "days": days}
    )
    response["Cache-Control"] = "no-store"
    return response
