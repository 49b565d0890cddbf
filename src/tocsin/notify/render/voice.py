"""TwiML for a paging call: read the incident, then gather one key press."""

from __future__ import annotations

from twilio.twiml.voice_response import Gather, VoiceResponse

from tocsin.notify.providers.base import IncidentView
from tocsin.notify.render.text import clean_line, drill_mark

KEY_PROMPT = "Press 4 to acknowledge, 6 to resolve, or 8 to escalate."


def spoken_summary(incident: IncidentView) -> str:
    status = clean_line(incident.status, 20)
    drill = drill_mark(incident, ". This is a drill, not a real incident. ")
    return (
        f"{drill}This is Tocsin. Incident {incident.number} is {status}, priority {clean_line(incident.priority, 8)}, "
        f"on service {clean_line(incident.service, 80)}: {clean_line(incident.title, 200)}."
    )


def call_twiml(incident: IncidentView, action_url: str, *, intro: str = "") -> str:
    """What the callee hears; a key press is posted to ``action_url``. Silence repeats the prompt once."""
    response = VoiceResponse()
    gather = Gather(num_digits=1, action=action_url, method="POST", timeout=8)
    if intro:
        gather.say(clean_line(intro, 200))
    gather.say(spoken_summary(incident))
    gather.say(KEY_PROMPT)
    response.append(gather)
    retry = Gather(num_digits=1, action=action_url, method="POST", timeout=8)
    retry.say(KEY_PROMPT)
    response.append(retry)
    response.say("No key was pressed. Goodbye.")
    response.hangup()
    return str(response)


ANSWER_PROMPT = "Press 1 to accept, or 2 to decline."


def answer_twiml(incident: IncidentView, request_text: str, action_url: str, *, intro: str = "") -> str:
    """A call asking someone to join an incident: the request, then one key press (1 accept, 2 decline)."""
    response = VoiceResponse()
    gather = Gather(num_digits=1, action=action_url, method="POST", timeout=8)
    if intro:
        gather.say(clean_line(intro, 200))
    gather.say(f"This is Tocsin. {clean_line(request_text, 300)}")
    gather.say(spoken_summary(incident).removeprefix("This is Tocsin. "))
    gather.say(ANSWER_PROMPT)
    response.append(gather)
    retry = Gather(num_digits=1, action=action_url, method="POST", timeout=8)
    retry.say(ANSWER_PROMPT)
    response.append(retry)
    response.say("No key was pressed. Goodbye.")
    response.hangup()
    return str(response)


def spoken_result(text: str) -> str:
    response = VoiceResponse()
    response.say(clean_line(text, 300))
    response.hangup()
    return str(response)
