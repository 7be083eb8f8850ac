"""kombu's filesystem transport (`make run`'s broker) made safe for files a reader meets half-written.

kombu 5.x writes a message by opening its final name and then writing into it
(`kombu.transport.filesystem.Channel._put`), and reads by moving every file of that name pattern away
and parsing it (`Channel._get`); the writer's `flock` does not stop a rename. So a worker polling
while the web server was in the middle of a write moved an empty or partial file, failed to parse
it (`JSONDecodeError`) and died, and the message was gone.

Here a writer writes under a name no reader matches and renames it into place (atomic within one
folder), and a reader takes a file only once it holds the file's lock and has parsed it, then claims
it by moving it away. A file it cannot parse is left where it is for its writer to finish; one that
stays unreadable for `unreadable_grace_seconds` (a truncated file: a full disk, a crash) is moved to
`unreadable_folder` with an error in the log, so nothing is silently dropped and the queue moves on.

Selected by `CELERY_BROKER_TRANSPORT = "lifemsg.broker:FilesystemTransport"` (lifemsg.settings.local);
tests/lifemsg/test_broker.py names every kombu internal used here.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
import time
import uuid
from queue import Empty

from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

DEFAULT_UNREADABLE_GRACE_SECONDS = 60.0


class Channel(filesystem.Channel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # File name -> when this channel first failed to read it.
        self._unreadable_since: dict[str, float] = {}

    def _put(self, queue, payload, **kwargs):
        """Write `payload` as a message of `queue`: under a temporary name first (".<random>.writing",
        which no reader's pattern "<stamp>_<uuid>.<queue>.msg" matches), then renamed to kombu's."""
        name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        folder = self.data_folder_out
        try:
            fd, temp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".writing")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(str_to_bytes(dumps(payload)))
                os.replace(temp, os.path.join(folder, name))
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {name!r} to directory") from exc

    def _get(self, queue):
        """The oldest readable message of `queue`; files not (yet) readable are passed over."""
        wanted = f"{queue}.msg"
        names = sorted(n for n in os.listdir(self.data_folder_in) if n.partition(".")[2] == wanted)
        if self._unreadable_since:
            present = set(names)
            self._unreadable_since = {n: t for n, t in self._unreadable_since.items() if n in present}
        for name in names:
            payload = self._take(name)
            if payload is not None:
                return payload
        raise Empty()

    def _take(self, name: str):
        path = os.path.join(self.data_folder_in, name)
        try:
            f = open(path, "rb")  # noqa: SIM115 (the with below; the lock lasts until the claim)
        except FileNotFoundError:
            return None  # another reader took it
        with f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None  # a writer (or another reader) holds it: next poll
            data = f.read()
            try:
                payload = loads(bytes_to_str(data))
            except ValueError:
                self._unreadable(name, path, len(data))
                return None
            try:
                self._claim(name, path)
            except FileNotFoundError:
                return None  # another reader claimed it between our open and our lock
            self._unreadable_since.pop(name, None)
            return payload

    def _claim(self, name: str, path: str) -> None:
        if self.store_processed:
            target = os.path.join(self.processed_folder, name)
            try:
                os.rename(path, target)
            except FileNotFoundError:
                raise
            except OSError:
                shutil.move(path, target)  # the processed folder is on another file system
        else:
            os.unlink(path)

    def _unreadable(self, name: str, path: str, size: int) -> None:
        now = time.monotonic()
        first = self._unreadable_since.setdefault(name, now)
        if first == now:
            logger.warning("Broker message file %s incomplete (%d bytes); left for its writer.", name, size)
        if now - first < self.unreadable_grace_seconds:
            return
        folder = self.unreadable_folder
        os.makedirs(folder, exist_ok=True)
        with contextlib.suppress(OSError):
            os.rename(path, os.path.join(folder, name))
            logger.error(
                "Broker message file %s stayed unreadable for %.0f s (%d bytes); moved to %s.",
                name,
                now - first,
                size,
                folder,
            )
        self._unreadable_since.pop(name, None)

    @property
    def unreadable_grace_seconds(self) -> float:
        return float(self.transport_options.get("unreadable_grace_seconds", DEFAULT_UNREADABLE_GRACE_SECONDS))

    @property
    def unreadable_folder(self) -> str:
        default = os.path.join(os.path.dirname(os.path.abspath(self.data_folder_in)), "unreadable")
        return self.transport_options.get("unreadable_folder", default)


class FilesystemTransport(filesystem.Transport):
    Channel = Channel
