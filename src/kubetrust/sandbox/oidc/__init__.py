"""EKS-style OIDC issuers for sandbox clusters, and STS's check of web-identity tokens.

Two sides of IRSA live here, because each is the other's test:

* the **cluster side** (:class:`ClusterIssuer`): one RSA signing key per cluster, the
  discovery document and JWKS that EKS publishes at ``<issuer>/.well-known/openid-configuration``
  and ``<issuer>/keys``, and projected service-account tokens with exactly the header and
  claims a Kubernetes API server signs (reference C.1, C.2);
* the **STS side** (:func:`verify_web_identity_token`): what ``AssumeRoleWithWebIdentity``
  does with such a token before it evaluates the role's trust policy: parse it, find the
  IAM OIDC provider for its ``iss`` in the role's account, fetch the issuer's keys over
  HTTPS (:func:`https_jwks_fetcher`), check the signature, the lifetime and the audience,
  and answer with AWS's error codes and messages (reference B.2, B.3).

The trust policy itself is not evaluated here (that is :mod:`kubetrust.chain`'s job), and
neither are the provider and audience rules: they are :mod:`kubetrust.chain.web_identity`'s,
which explain follows too; the verifier calls them with its JWT/JWKS checks.

Errors (all :class:`kubetrust.errors.KubetrustError`)::

    OidcError
    ├─ IssuerError           a bad issuer URL or persisted issuer state
    ├─ TokenRequestError     a bad mint request (Kubernetes' TokenRequest validation)
    ├─ JwksFetchError        the issuer's discovery document or JWKS could not be fetched
    │  └─ IdpCertificateError  ... because its TLS certificate did not verify
    └─ TokenRejected         what STS answers: ``code``, AWS ``message``, HTTP ``status``

Tokens and private keys are never logged and never put in an error message.

Observed AWS behaviour this module reproduces:

* a token that is not a JWT: ``InvalidIdentityToken`` "The ID Token provided is not a valid
  JWT. (You may see this error if you sent an Access Token)" (STS answer quoted in
  aws-observability/aws-rum-web's troubleshooting guide);
* a missing claim: ``InvalidIdentityToken`` "Missing a required claim: aud"
  (aws/aws-sdk-ruby#2698; "...: sub" in aws-actions/configure-aws-credentials#502) --
  checked *before* the provider lookup: in #2698 a legacy service-account token, whose
  ``iss`` matches no provider, got this message, not "No OpenIDConnect provider found";
* no provider: ``InvalidIdentityToken`` "No OpenIDConnect provider found in your account for
  <iss>" (re:Post knowledge centre "eks-troubleshoot-oidc-and-irsa");
* keys unavailable (discovery or JWKS unreachable, slow beyond 5 s, malformed, or no key
  for the token's ``kid``): ``InvalidIdentityToken`` "Couldn't retrieve verification key
  from your identity provider,  please reference AssumeRoleWithWebIdentity documentation
  for requirements", two spaces after the comma as STS sends it (aws/aws-cli#7194,
  awslabs/aws-sdk-rust#827; re:Post "iam-sts-invalididentitytoken" lists unreachable,
  firewalled and slower-than-5-s endpoints as its causes);
* the IdP's TLS certificate not trusted: ``InvalidIdentityToken`` "OpenIDConnect provider's
  HTTPS certificate doesn't match configured thumbprint" (re:Post
  "eks-error-invalid-identity-token", aws-actions/configure-aws-credentials#357);
* expired: ``ExpiredTokenException`` "Token expired: current date/time <now> must be before
  the expiration date/time<exp>", no space before the second number as STS sends it
  (awslabs/aws-orbit-workbench#707, #771, #890);
* audience: ``InvalidIdentityToken`` "Incorrect token audience"
  (awslabs/amazon-eks-irsa-cfn#18).

Fidelity gaps and uncertainties:

* The order of STS's checks is not documented. Known: parse, then required claims, then
  the provider lookup. After that this module follows reference B.3: keys and signature,
  then ``exp``/``nbf``, then the audience.
* The wording for a signature that does not verify under the key named by ``kid``, and for
  a token whose ``nbf`` lies in the future, has not been observed; the messages used are
  ours (:data:`MSG_BAD_SIGNATURE`, :func:`errors.not_yet_valid`).
* STS's ``IDPCommunicationError`` is modelled by AWS but no public report shows it for an
  OIDC provider; AWS's knowledge centre attributes unreachable and slow JWKS endpoints to
  ``InvalidIdentityToken`` "Couldn't retrieve verification key ...", so that is used.
* IAM thumbprints are not modelled: trust in the IdP's certificate is trust in the sandbox
  CA given to :func:`https_jwks_fetcher` (AWS's "library of trusted root CAs").
* No clock-skew leeway: ``exp`` must be after ``now`` and ``nbf`` not after it.
* No JWKS caching (EKS asks for it; the sandbox may wrap the fetcher).
"""

from __future__ import annotations

from kubetrust.sandbox.oidc.errors import (
    MSG_AUDIENCE,
    MSG_BAD_SIGNATURE,
    MSG_NO_KEY,
    MSG_NOT_A_JWT,
    MSG_UNTRUSTED_CERTIFICATE,
    IdpCertificateError,
    IssuerError,
    JwksFetchError,
    OidcError,
    TokenRejected,
    TokenRequestError,
)
from kubetrust.sandbox.oidc.fetch import https_jwks_fetcher
from kubetrust.sandbox.oidc.issuer import (
    AUTHORIZATION_ENDPOINT,
    MAX_EXPIRATION_SECONDS,
    MIN_EXPIRATION_SECONDS,
    ClusterIssuer,
    kubernetes_key_id,
)
from kubetrust.sandbox.oidc.verifier import (
    ALLOWED_ALGORITHMS,
    MAX_TOKEN_LENGTH,
    OidcProvider,
    WebIdentity,
    verify_web_identity_token,
)

__all__ = [
    "ALLOWED_ALGORITHMS",
    "AUTHORIZATION_ENDPOINT",
    "MAX_EXPIRATION_SECONDS",
    "MAX_TOKEN_LENGTH",
    "MIN_EXPIRATION_SECONDS",
    "MSG_AUDIENCE",
    "MSG_BAD_SIGNATURE",
    "MSG_NOT_A_JWT",
    "MSG_NO_KEY",
    "MSG_UNTRUSTED_CERTIFICATE",
    "ClusterIssuer",
    "IdpCertificateError",
    "IssuerError",
    "JwksFetchError",
    "OidcError",
    "OidcProvider",
    "TokenRejected",
    "TokenRequestError",
    "WebIdentity",
    "https_jwks_fetcher",
    "kubernetes_key_id",
    "verify_web_identity_token",
]
