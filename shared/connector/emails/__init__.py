"""One design for every email the connector sends (issue 17).

A use case builds a :class:`Message` (the content: what happened, what it means, what to do, tables,
facts, the matching CLI command, an optional page link); :func:`render` turns the same message into the
HTML and the plain-text part with Jinja2 (HTML autoescaped), so the two cannot say different things.
The sending stack, its stage and the marketplaces come from :class:`Sender` (the function's
environment), and go into the subject and the header of every email.
"""

from connector.emails.design import (
    Column,
    Message,
    PageLink,
    Sender,
    Table,
    marketplace_label,
    product_label,
    render,
)

__all__ = ["Column", "Message", "PageLink", "Sender", "Table", "marketplace_label", "product_label", "render"]
