"""The authenticator app (TOTP) of a citizen or an officer: enrolled behind a fresh factor of the method in force,
confirmed with a code of the new app, removed behind a fresh factor; the person is told of each change.

An access token alone is not enough to change the second factor: otherwise whoever steals one installs their own
authenticator and uses it as the "fresh factor" that erases the account or approves consents.
"""

from __future__ import annotations

from crypto.otp import new_totp_secret, totp_enrollment
from identity.challenges import Subject
from identity.errors import FreshFactorRequired, TotpNotEnrolled
from identity.models import TotpCredential
from identity.notices import Notice, authenticator_added, authenticator_removed, masked_phone
from identity.repository import IdentityRepository
from identity.schemas import TotpEnrollResponse
from identity.second_factor import SecondFactor, totp_context
from identity.toolkit import IdentityToolkit
from notify.service import Notifier

ISSUER = "Công Dân Số"


class Authenticators:
    def __init__(
        self, repo: IdentityRepository, toolkit: IdentityToolkit, notifier: Notifier, factor: SecondFactor
    ) -> None:
        self._repo = repo
        self._kit = toolkit
        self._notifier = notifier
        self._factor = factor

    def enroll(self, person: Subject, code: str | None, challenge_id: str | None) -> TotpEnrollResponse:
        """A new secret, pending until confirmed; the current authenticator (if any) stays in force until then.
        The label shows the phone's last 4 digits only: an authenticator app's list is no place for an ID."""
        self._prove(person, code, challenge_id)
        enrollment = totp_enrollment(new_totp_secret(), account=masked_phone(person.phone), issuer=ISSUER)
        sealed = self._kit.keys.wrap(enrollment.secret.encode(), context=totp_context(person.id))
        credential = self._repo.totp(person.type, person.id) or TotpCredential(
            subject_type=person.type, subject_id=person.id, created_at=self._kit.clock.now()
        )
        credential.pending_secret_sealed = sealed
        self._repo.add(credential)
        return TotpEnrollResponse(
            secret=enrollment.secret, otpauth_uri=enrollment.otpauth_uri, qr_svg=enrollment.qr_svg
        )

    def confirm(self, person: Subject, code: str) -> None:
        """The new authenticator's code puts it in force (replacing the current one, if any)."""
        credential = self._repo.totp(person.type, person.id)
        if credential is None or credential.pending_secret_sealed is None:
            raise TotpNotEnrolled()
        step = self._factor.confirm_new_authenticator(credential, code)
        replaced = credential.secret_sealed is not None
        credential.secret_sealed, credential.pending_secret_sealed = credential.pending_secret_sealed, None
        credential.confirmed_at, credential.last_used_step = self._kit.clock.now(), step
        self._repo.add(credential)
        self._tell(person, authenticator_added(self._kit.clock.now(), replaced=replaced))

    def remove(self, person: Subject, code: str | None, challenge_id: str | None) -> None:
        """Back to codes by SMS, proven by the authenticator's own current code."""
        if not code:
            raise FreshFactorRequired()
        credential = self._repo.totp(person.type, person.id)
        if credential is None or credential.secret_sealed is None:
            raise TotpNotEnrolled()
        self._factor.prove_fresh(person.type, person.id, code, challenge_id)
        self._repo.delete_totp(credential)
        self._tell(person, authenticator_removed(self._kit.clock.now()))

    def _prove(self, person: Subject, code: str | None, challenge_id: str | None) -> None:
        if not code:
            raise FreshFactorRequired()
        self._factor.prove_fresh(person.type, person.id, code, challenge_id)

    def _tell(self, person: Subject, notice: Notice) -> None:
        if person.phone:
            self._notifier.send(
                channel="sms", to=person.phone, subject=notice.subject, body=notice.body, recipient_id=person.id
            )
        if person.email:
            self._notifier.send(
                channel="email", to=person.email, subject=notice.subject, body=notice.body, recipient_id=person.id
            )
