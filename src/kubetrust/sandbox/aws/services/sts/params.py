"""STS's checks of its parameters, worded as STS words them, and its MFA code check.

STS validates every request against its API model before it does anything else, and
answers ``ValidationError`` listing every violated constraint at once: "2 validation
errors detected: Value '…' at 'roleSessionName' failed to satisfy constraint: Member must
…; Value …" (reference B.1; the shape is the one quoted there from public reports). The
member names are the model's in lower camel case (``roleArn``, ``durationSeconds``,
``sAMLAssertion``); secret members (policies, tokens, assertions) are reported without
their value, as STS does for ``webIdentityToken``.

Lengths, patterns and ranges below are botocore's STS model (``sts/2011-06-15``). Java's
``\\w`` (STS is a Java service) is ASCII, hence :data:`re.ASCII`.

MFA: a virtual device's code is the RFC 6238 TOTP of the seed IAM generated for it (the
seed moto keeps); one 30-second step either side is accepted, as authenticators drift.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
import struct
from collections.abc import Mapping

from kubetrust.chain import sts
from kubetrust.sandbox.aws import wire

Params = Mapping[str, list[str]]

NAME = re.compile(r"[\w+=,.@-]*", re.ASCII)
"""RoleSessionName, SourceIdentity, GetFederationToken's Name."""
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]*", re.ASCII)
SERIAL_NUMBER = re.compile(r"[\w+=/:,.@-]*", re.ASCII)
TOKEN_CODE = re.compile(r"[\d]*", re.ASCII)
ARN = re.compile(r"arn:[^:]+:[^:]+:[^:]*:[^:]*:.+", re.DOTALL)
"""What STS accepts as an ARN at all; anything else is "<value> is invalid" (the answer
LocalStack reproduces from AWS for a malformed ``RoleArn``: localstack/localstack#12885)."""

_PATTERN_TEXT = {
    NAME: r"[\w+=,.@-]*",
    EXTERNAL_ID: r"[\w+=,.@:\/-]*",
    SERIAL_NUMBER: r"[\w+=/:,.@-]*",
    TOKEN_CODE: r"[\d]*",
}


class Checks:
    """Collects the violated constraints of one request; :meth:`done` raises them."""

    def __init__(self, params: Params) -> None:
        self.params = params
        self.problems: list[str] = []

    def text(
        self,
        key: str,
        member: str,
        low: int,
        high: int | None = None,
        *,
        pattern: re.Pattern[str] | None = None,
        required: bool = False,
        secret: bool = False,
    ) -> str | None:
        """The parameter ``key`` if present; its length and pattern checked."""
        values = self.params.get(key)
        value = values[0] if values else None
        self.problems += sts.text_problems(
            value,
            member,
            low,
            high,
            pattern=pattern,
            pattern_text=_PATTERN_TEXT[pattern] if pattern is not None else "",
            required=required,
            secret=secret,
        )
        return value

    def integer(self, key: str, member: str, low: int, high: int) -> int | None:
        """The integer parameter ``key`` if present, within ``low``–``high``."""
        values = self.params.get(key)
        if not values:
            return None
        try:
            number = int(values[0])
        except ValueError:
            # [uncertain] our wording: STS's answer to a non-numeric integer is unreported
            self.problems.append(f"Invalid value for {key}: {values[0]}")
            return None
        head = (
            f"Value '{number}' at '{member}' failed to satisfy constraint: Member must have value "
        )
        if number < low:
            self.problems.append(head + f"greater than or equal to {low}")
        elif number > high:
            self.problems.append(head + f"less than or equal to {high}")
        return number

    def count(self, member: str, found: int, high: int) -> None:
        """A list member of at most ``high`` entries ([uncertain] STS's rendering of the
        list value is unreported; it is left out)."""
        if found > high:
            self.problems.append(
                f"Value at '{member}' failed to satisfy constraint: Member must have length "
                f"less than or equal to {high}"
            )

    def done(self) -> None:
        """Raise STS's ``ValidationError`` listing every problem found, if any."""
        if not self.problems:
            return
        raise wire.AwsError("ValidationError", sts.validation_message(self.problems) or "", 400)


# --------------------------------------------------------------------------- MFA
MFA_UNKNOWN_DEVICE = (
    "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA "
    "serial number is valid and associated with this user."
)
"""Two spaces after "code." as STS sends it (aws/aws-cli#6325, broamski/aws-mfa#25)."""
MFA_WRONG_CODE = "MultiFactorAuthentication failed with invalid MFA one time pass code."
"""lonelyplanet/aws-mfa#21, aws/aws-cli#2279."""


def totp_matches(seed: str, code: str, now: dt.datetime) -> bool:
    """Whether ``code`` is the RFC 6238 code of base32 ``seed`` at ``now`` (±30 s)."""
    try:
        key = base64.b32decode(seed + "=" * (-len(seed) % 8))
    except (binascii.Error, ValueError):
        return False
    step = int(now.timestamp()) // 30
    return any(hmac.compare_digest(totp(key, step + drift), code) for drift in (-1, 0, 1))


def totp(key: bytes, counter: int) -> str:
    """RFC 4226 HOTP (SHA-1, six digits) of ``key`` at ``counter``."""
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"
