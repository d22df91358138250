"""One door to every LLM: `session()` (see `session.py`), for generation, the judges,
the tests and the benchmark alike.

Modules, from the outside in:

- `config.py`: `EndpointConfig` (where and how to call; from the environment), the fatal
  errors, secret scrubbing;
- `session.py`: `session()`: endpoint (configured, or the embedded model), journal, client;
- `client.py`: `LLMClient.complete`: journal lookup, budget, limits, retries, journaling;
- `limits.py`: adaptive concurrency and per-minute buckets;
- `transport.py`: the HTTP exchange (aiohttp), errors classified; `Wire`, what a client
  needs of a transport (tests pass an in-process one);
- `journal.py`: the SQLite journal of every answer (an answer is never paid for twice);
- `embedded.py`: the embedded SmolLM2 server, started and stopped with the session;
- `types.py`: `ChatRequest`, `request_key`, `Usage`.
"""

from synthlake.llm.client import REQUEST_TOO_LARGE, LLMClient, long_lived_objects_frozen
from synthlake.llm.config import BudgetExceeded, EndpointConfig, FatalLLMError, scrub
from synthlake.llm.journal import Journal, Response
from synthlake.llm.session import Session, fixed_temperature, open_endpoint, session, usage_of
from synthlake.llm.transport import ChatAnswer, Wire
from synthlake.llm.types import GENERATION_KIND, ChatRequest, Usage, request_key

__all__ = [
    "GENERATION_KIND", "REQUEST_TOO_LARGE", "BudgetExceeded", "ChatAnswer", "ChatRequest",
    "EndpointConfig", "FatalLLMError",
    "Journal", "LLMClient", "Response", "Session", "Usage", "Wire", "fixed_temperature",
    "long_lived_objects_frozen", "open_endpoint", "request_key", "scrub", "session", "usage_of",
]
