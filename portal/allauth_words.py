"""Words of allauth's own that reach the sign-in pages: named here so that the catalogs in
locale/ translate them with the app's words, and come before allauth's (LOCALE_PATHS wins).
DESIGN.md section 7 asks for one word for one thing; allauth's Arabic calls the sign-in code
"كود" and its field "شفرة" where the app says "رمز", and its Chinese "代码" for "验证码"."""

from django.utils.translation import gettext_noop

ALLAUTH_WORDS = (
    gettext_noop("A sign-in code has been sent to %(recipient)s."),  # the code confirm page
    gettext_noop("Code"),  # the code field, on the code and authenticator pages
    gettext_noop("Incorrect code."),  # the error under it
)
