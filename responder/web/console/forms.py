"""Reading a console form: a few short fields, URL-encoded, read within a small bound before
anything else (the login form is read before authentication)."""

import urllib.parse

from aiohttp import web

from responder.web.bodies import KIB, BodyLimit, read_body
from responder.web.errors import Problem, Refusal

FORM_BODY = BodyLimit(4 * KIB, 5.0, "the console's form limit (4 KiB)")
MAX_FIELDS = 12


async def read_form(request: web.Request) -> dict[str, str]:
    """The form's fields (the first value of each), or a 400/413 Refusal."""
    body = await read_body(request, FORM_BODY)
    try:
        fields = urllib.parse.parse_qs(body.decode(), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:  # UnicodeDecodeError, too many fields
        raise Refusal(
            400, Problem.INVALID, "the form is not UTF-8 URL-encoded fields; submit the console's own form"
        ) from None
    return {name: values[0] for name, values in fields.items()}
