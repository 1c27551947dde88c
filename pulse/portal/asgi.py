"""The ASGI application `pulse portal serve` runs: `uvicorn pulse.portal.asgi:app`."""

import logging
import re
import sys

from pulse.portal.app import create_app

sys.setswitchinterval(0.0005)  # as operational_api/asgi.py: a thread whose query returned resumes quickly

# A recipient's link and an unsubscribe link are credentials in a URL path: keep them out of the access log.
_TOKEN_PATH = re.compile(r"/(portal/me|v1/unsubscribe)/[^/?\s]+")


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_PATH.sub(r"/\1/<token>", a) if isinstance(a, str) else a for a in record.args)
        return True


logging.getLogger("uvicorn.access").addFilter(RedactTokens())
app = create_app()
