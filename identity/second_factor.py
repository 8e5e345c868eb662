"""Every check of a second factor: a challenge's one-time code (login, registration), the authenticator's code, a
fresh factor for a sensitive action, the code that confirms a new authenticator.

Wrong codes are counted per account (`2fa:{subject_type}:{subject_id}`) in the shared throttle store, which commits
on its own, so a count survives the request's rollback and every worker sees it. From the 5th wrong code on, the
account answers `RateLimited` to any code, right or wrong, until its delay has passed; a right code resets the count.
The per-challenge rule (a challenge dies after 5 wrong codes) holds as well: it bounds one challenge, the account
count bounds them all, and an attacker holding only an access token cannot guess a step-up code at leisure.
"""

from __future__ import annotations

from crypto.aead import Context
from crypto.otp import totp_match_step
from identity.errors import OtpAttemptsExceeded, OtpExpired, OtpInvalid, RateLimited
from identity.models import OtpChallenge, TotpCredential
from identity.repository import IdentityRepository
from identity.toolkit import IdentityToolkit


def totp_context(subject_id: str) -> Context:
    return Context(purpose="totp", citizen=subject_id)


def second_factor_key(subject_type: str, subject_id: str) -> str:
    return f"2fa:{subject_type}:{subject_id}"


class SecondFactor:
    """Checks codes; raises OtpInvalid, OtpExpired, OtpAttemptsExceeded or RateLimited, and counts every miss."""

    def __init__(self, repo: IdentityRepository, toolkit: IdentityToolkit) -> None:
        self._repo = repo
        self._kit = toolkit

    def totp_enabled(self, subject_type: str, subject_id: str) -> bool:
        # The same rule for reads in one statement: `identity.repository.totp_enabled_clause`.
        credential = self._repo.totp(subject_type, subject_id)
        return credential is not None and credential.secret_sealed is not None

    def check_challenge(self, challenge: OtpChallenge, code: str) -> None:
        """Consume the challenge if `code` answers it (its SMS code, or the authenticator's current code)."""
        key = self._guard(challenge.subject_type, challenge.subject_id)
        now = self._kit.clock.now()
        if challenge.attempts >= self._kit.config.otp_max_attempts:
            raise OtpAttemptsExceeded()
        if now >= challenge.expires_at:
            raise OtpExpired()
        if not self._matches(challenge, code):
            challenge.attempts += 1
            self._repo.add(challenge)
            self._failed(key)
            if challenge.attempts >= self._kit.config.otp_max_attempts:
                raise OtpAttemptsExceeded()
            raise OtpInvalid()
        self._kit.throttle.reset(key)
        challenge.consumed_at = now
        self._repo.add(challenge)

    def prove_fresh(self, subject_type: str, subject_id: str, code: str, challenge_id: str | None = None) -> None:
        """A fresh factor of the method in force: with an authenticator confirmed, only its current code counts;
        otherwise a code sent by SMS for a step-up or a login and not used yet (the one named, or the newest)."""
        if self.totp_enabled(subject_type, subject_id):
            key = self._guard(subject_type, subject_id)
            if not self._totp_step_ok(subject_type, subject_id, code):
                self._failed(key)
                raise OtpInvalid()
            self._kit.throttle.reset(key)
            return
        challenge = self._repo.open_step_up(subject_type, subject_id, challenge_id)
        if challenge is None:
            # A code with nothing to answer is still a guess: it counts like any other wrong code.
            self._failed(self._guard(subject_type, subject_id))
            raise OtpInvalid()
        self.check_challenge(challenge, code)

    def confirm_new_authenticator(self, credential: TotpCredential, code: str) -> int:
        """The time step of `code` from the authenticator being enrolled (its pending secret)."""
        if credential.pending_secret_sealed is None:
            raise OtpInvalid()
        key = self._guard(credential.subject_type, credential.subject_id)
        secret = self._secret(credential.subject_id, credential.pending_secret_sealed)
        step = totp_match_step(secret, code, at=self._kit.clock.now(), last_used_step=None)
        if step is None:
            self._failed(key)
            raise OtpInvalid()
        self._kit.throttle.reset(key)
        return step

    def _guard(self, subject_type: str, subject_id: str) -> str:
        """The account's counter key, once sure the account is not waiting out a delay."""
        key = second_factor_key(subject_type, subject_id)
        verdict = self._kit.throttle.blocked(key, now=self._kit.clock.now())
        if not verdict.allowed:
            raise RateLimited(verdict.retry_after)
        return key

    def _failed(self, key: str) -> None:
        backoff = self._kit.config.second_factor_backoff
        self._kit.throttle.record_failure(key, now=self._kit.clock.now(), delay=backoff)

    def _matches(self, challenge: OtpChallenge, code: str) -> bool:
        if challenge.channel == "sms":
            return challenge.code_hash is not None and self._kit.codes.matches(challenge.id, code, challenge.code_hash)
        return self._totp_step_ok(challenge.subject_type, challenge.subject_id, code)

    def _totp_step_ok(self, subject_type: str, subject_id: str, code: str) -> bool:
        credential = self._repo.totp(subject_type, subject_id)
        if credential is None or credential.secret_sealed is None:
            return False
        secret = self._secret(subject_id, credential.secret_sealed)
        step = totp_match_step(secret, code, at=self._kit.clock.now(), last_used_step=credential.last_used_step)
        if step is None:
            return False
        credential.last_used_step = step
        self._repo.add(credential)
        return True

    def _secret(self, subject_id: str, sealed: bytes) -> str:
        return self._kit.keys.unwrap(sealed, context=totp_context(subject_id)).decode()
