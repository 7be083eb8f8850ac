from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .attachments import AttachmentsField, attachments_store
from .models import Attachment, Mailbox
from .selectors import recipient_mailboxes

BODY_MAX = 20000


class AttachmentsMixin(forms.Form):
    """New uploads plus uploads kept from an earlier, re-shown submission of the same form.

    When a form comes back with an error (or with the mail tip to confirm), the valid new uploads are
    stored at once (`keep_uploads`) and offered as ticked checkboxes, so nothing has to be chosen
    again. Only the uploader's own, not yet attached uploads can be kept. Staff and citizen forms
    alike (eservices.forms). Kept uploads never sent are removed after UPLOAD_UNATTACHED_HOURS by the
    nightly retention (mailboxes.services.uploads_delete_abandoned); a form posted after that gets
    the "no longer available" error below."""

    attachments = AttachmentsField()
    kept_attachments = forms.ModelMultipleChoiceField(
        queryset=Attachment.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Files already added"),
        help_text=_("Untick a file to leave it out."),
        # Someone else's id, a file already sent (the form posted twice) or one since removed.
        error_messages={
            "invalid_choice": _(
                "A file you added earlier is no longer available. Choose it again if it should be sent."
            )
        },
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self._refresh_kept()

    def _kept_ids(self) -> list[int]:
        if not self.is_bound:
            return []
        return [int(v) for v in self.data.getlist(self.add_prefix("kept_attachments")) if v.isdigit()]

    def _refresh_kept(self) -> None:
        ids = self._kept_ids()
        if not ids:
            return  # nothing kept: the field keeps its empty queryset (an unbound form, on every page)
        self.fields["kept_attachments"].queryset = Attachment.objects.filter(
            pk__in=ids, message__isnull=True, uploaded_by=self.user
        ).order_by("id")

    @property
    def has_kept(self) -> bool:
        return bool(self._kept_ids())

    def kept_uploads(self) -> list[Attachment]:
        """After is_valid(): the kept uploads still ticked. The new ones are in
        cleaned_data["attachments"], for a service that stores them in its own transaction."""
        # Without kept ids the field's value is an empty queryset: not evaluated (it compiles a query
        # only to find nothing), which every send without kept files would otherwise do twice.
        if not self._kept_ids():
            return []
        return list(self.cleaned_data.get("kept_attachments") or [])

    def clean(self):
        cleaned = super().clean()
        new = cleaned.get("attachments") or []
        kept = self.kept_uploads()
        if len(new) + len(kept) > settings.ATTACHMENT_MAX_COUNT:
            raise ValidationError(
                _("You can attach at most %(count)s files."), params={"count": settings.ATTACHMENT_MAX_COUNT}
            )
        return cleaned

    def keep_uploads(self) -> None:
        """Store the new uploads that passed their checks and tick them in the re-shown form."""
        new = (getattr(self, "cleaned_data", None) or {}).get("attachments")
        if new is None:  # the field refused a file: keep the others it accepted
            new = getattr(self.fields["attachments"], "accepted", [])
        if not new:
            return
        stored = attachments_store(new, uploaded_by=self.user)
        data = self.data.copy()
        ids = [*map(str, self._kept_ids()), *(str(a.pk) for a in stored)]
        data.setlist(self.add_prefix("kept_attachments"), ids)
        self.data = data
        self._refresh_kept()
        if hasattr(self, "cleaned_data"):
            self.cleaned_data["attachments"] = []
            self.cleaned_data["kept_attachments"] = list(self.fields["kept_attachments"].queryset)

    def attachments_to_attach(self) -> list[Attachment]:
        """After is_valid(): store the new uploads; return them with the kept ones."""
        stored = attachments_store(self.cleaned_data.get("attachments") or [], uploaded_by=self.user)
        return [*self.kept_uploads(), *stored]


def _body_field(label) -> forms.CharField:
    return forms.CharField(
        label=label, max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 6}), strip=True
    )


class ReplyForm(AttachmentsMixin):
    body = _body_field(_("Your reply"))
    field_order = ["body", "attachments", "kept_attachments"]


class CitizenMessageForm(AttachmentsMixin):
    body = _body_field(_("Message to the citizen"))
    field_order = ["body", "attachments", "kept_attachments"]


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Note"),
        help_text=_("Seen by staff who can open the thread; never shown to the citizen."),
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ForwardForm(forms.Form):
    target = forms.ModelChoiceField(
        queryset=Mailbox.objects.none(),
        label=_("Group mailbox"),
        empty_label=_("Choose a group mailbox"),
    )
    # Forwarding gives the target's members the thread as it stands: why is part of the record
    # (the audit event and, for a citizen's thread, the access log) as well as the recipients' note.
    note = forms.CharField(
        label=_("Reason for forwarding"),
        help_text=_("Shown to the recipients and recorded in the log."),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Say briefly why you forward the thread.")},
    )

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = targets


class ComposeForm(AttachmentsMixin):
    recipients = forms.MultipleChoiceField(
        label=_("To"),
        help_text=_("Colleagues and group mailboxes. Hold Ctrl (Cmd on a Mac) to choose more than one."),
        widget=forms.SelectMultiple(attrs={"size": 10}),
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = _body_field(_("Message"))
    field_order = ["recipients", "subject", "body", "attachments", "kept_attachments"]

    def __init__(self, *args, user, check_only: bool = False, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.check_only = check_only
        self._mailboxes = {
            str(m.pk): m for m in recipient_mailboxes(user).prefetch_related("owner__unit_memberships__unit")
        }
        people = [(pk, _person_label(m)) for pk, m in self._mailboxes.items() if not m.is_group]
        groups = [(pk, m.name) for pk, m in self._mailboxes.items() if m.is_group]
        # With JavaScript, the mail tip appears as soon as the recipients change (htmx); without it,
        # "Check recipients" or the send button shows it before anything is sent.
        self.fields["recipients"].widget.attrs.update(
            {
                "hx-get": reverse("mailboxes:away_tip"),
                "hx-trigger": "change",
                "hx-target": "#away-tip",
                "hx-swap": "innerHTML",
            }
        )
        self.fields["recipients"].choices = [
            (_("Colleagues"), people),
            (_("Group mailboxes"), groups),
        ]

    def full_clean(self):
        # "Check recipients" validates who the message goes to (and the files) but not yet the text.
        if not self.check_only:
            return super().full_clean()
        relaxed = [n for n in ("subject", "body") if self.fields[n].required]
        for name in relaxed:
            self.fields[name].required = False
        try:
            super().full_clean()
        finally:
            for name in relaxed:
                self.fields[name].required = True

    def clean_recipients(self) -> list[Mailbox]:
        return [self._mailboxes[pk] for pk in self.cleaned_data["recipients"]]


def _person_label(mailbox: Mailbox) -> str:
    """ "Bengt Berg (IFO Barn och familj, IFO Familjeteamet)": two colleagues may share a name."""
    units = sorted(m.unit.name for m in mailbox.owner.unit_memberships.all())
    return f"{mailbox.name} ({', '.join(units)})" if units else mailbox.name


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=200, min_length=2)
