"""How a message looks: short plain text for any channel, a full email with text and HTML parts."""

from tocsin.notify.render.email import render_email
from tocsin.notify.render.text import clean_line, render_text, summary_line

__all__ = ["clean_line", "render_email", "render_text", "summary_line"]
