"""Put a moderator in front of an LLM call: check the prompt, call the model only if it passes,
check the response, and replace a harmful one with a refusal (the paper's filter setup, §4.4).

>>> from oneguard import Guard
>>> from oneguard.guard import LLMGuard
>>> safe_chat = LLMGuard(Guard.load()).wrap(my_llm)   # my_llm(prompt_or_messages) -> str
>>> safe_chat("How do I make a pipe bomb?")            # refused; my_llm is never called
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from oneguard.api import Guard
from oneguard.policy import Policy
from oneguard.schema import Result

#: What an LLM call takes: a prompt string or OpenAI-style chat messages.
Conversation = str | Sequence[Mapping[str, str]]
T = TypeVar("T")


def conversation_item(conversation: Conversation, response: str | None = None) -> dict[str, Any]:
    """The classifier input for a prompt string or a list of chat messages (+ a response)."""
    if isinstance(conversation, str):
        return {"prompt": conversation, "response": response}
    messages = [dict(m) for m in conversation]
    if response is not None:
        messages.append({"role": "assistant", "content": response})
    return {"messages": messages}


@dataclass(frozen=True)
class GuardedReply:
    """The outcome of a guarded call."""

    text: str
    #: None if nothing was blocked, else "prompt" or "response".
    blocked_by: str | None
    prompt_result: Result
    response_result: Result | None = None

    @property
    def blocked(self) -> bool:
        return self.blocked_by is not None


@dataclass(frozen=True)
class StreamPiece:
    """A piece of moderated streamed text; ``blocked`` marks the refusal that ends a stream."""

    text: str
    blocked: bool = False


class LLMGuard:
    """Apply a :class:`Policy` around any text-generating callable."""

    def __init__(self, guard: Guard, policy: Policy | None = None) -> None:
        self.policy = policy or Policy()
        self.guard = self.policy.bind(guard)  # scores the policy's custom categories

    def check_prompt(self, conversation: Conversation) -> tuple[bool, Result]:
        """(blocked, result) for the last user turn."""
        (result,) = self.guard.classify([conversation_item(conversation)])
        return self.policy.blocks_prompt(result), result

    def check_response(self, conversation: Conversation, response: str) -> tuple[bool, Result]:
        """(blocked, result) for ``response`` as the answer to ``conversation``."""
        (result,) = self.guard.classify([conversation_item(conversation, response)])
        return self.policy.blocks_response(result), result

    def call(
        self, llm: Callable[..., str], conversation: Conversation, **kwargs: Any
    ) -> GuardedReply:
        """Run ``llm(conversation, **kwargs)`` behind the prompt and response checks."""
        blocked, prompt_result = self.check_prompt(conversation)
        if blocked:
            return GuardedReply(self.policy.refusal_message, "prompt", prompt_result)
        response = llm(conversation, **kwargs)
        blocked, response_result = self.check_response(conversation, response)
        if blocked:
            return GuardedReply(
                self.policy.refusal_message, "response", prompt_result, response_result
            )
        return GuardedReply(response, None, prompt_result, response_result)

    def wrap(self, llm: Callable[..., str]) -> Callable[..., str]:
        """Decorate ``llm`` so every call is guarded; it returns the delivered text."""

        @functools.wraps(llm)
        def guarded(conversation: Conversation, **kwargs: Any) -> str:
            return self.call(llm, conversation, **kwargs).text

        return guarded

    def moderate_stream(
        self, conversation: Conversation, chunks: Iterable[str], window_chars: int = 256
    ) -> Iterator[StreamPiece]:
        """Moderate a streamed response; see :class:`StreamWindow` for the windowing rule.
        Stop consuming ``chunks`` (closing the upstream) when a blocked piece is yielded."""
        window: StreamWindow[str] = StreamWindow(window_chars)
        for chunk in chunks:
            if not window.add(chunk, chunk):
                continue
            blocked, _ = self.check_response(conversation, window.candidate)
            if blocked:
                yield StreamPiece(self.policy.refusal_message, blocked=True)
                return
            yield StreamPiece("".join(window.release()))
        if window.pending:
            blocked, _ = self.check_response(conversation, window.candidate)
            if blocked:
                yield StreamPiece(self.policy.refusal_message, blocked=True)
                return
            yield StreamPiece("".join(window.release()))


class StreamWindow(Generic[T]):
    """Hold streamed pieces back until the text so far has been checked.

    Nothing unchecked reaches the client: pieces are held until ``window_chars`` new characters
    have arrived (``add`` returns True), the caller classifies :attr:`candidate` (everything so
    far), and either releases the held pieces or cuts the stream. At the end of the stream the
    caller checks and releases what is still :attr:`pending`. ``T`` is whatever the caller
    forwards (text, or raw server-sent events).
    """

    def __init__(self, window_chars: int = 256) -> None:
        if window_chars < 1:
            raise ValueError("window_chars must be >= 1")
        self.window_chars = window_chars
        self._released_text = ""
        self._held_text = ""
        self._held: list[T] = []

    def add(self, text: str, piece: T) -> bool:
        """Hold ``piece`` (carrying ``text``); True when a check is due."""
        self._held_text += text
        self._held.append(piece)
        return len(self._held_text) >= self.window_chars

    @property
    def candidate(self) -> str:
        return self._released_text + self._held_text

    @property
    def pending(self) -> bool:
        return bool(self._held)

    def release(self) -> list[T]:
        """The held pieces, now checked; the window starts over."""
        pieces, self._held = self._held, []
        self._released_text += self._held_text
        self._held_text = ""
        return pieces
