"""A small, fast server-sent-events client over raw asyncio streams, for tests."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit


@dataclass
class Message:
    id: str | None = None
    event: str | None = None
    data: str = ""


@dataclass
class SseClient:
    url: str
    params: dict[str, str] = field(default_factory=dict)
    last_event_id: str | None = None
    #: A small receive buffer makes a client that stops reading fall behind quickly.
    receive_buffer: int | None = None

    async def connect(self) -> SseClient:
        parts = urlsplit(self.url)
        sock = socket.socket()
        if self.receive_buffer:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
        self.reader, self.writer = await asyncio.open_connection(sock=sock)
        query = urlencode(self.params)
        # HTTP/1.0: the body is delimited by the connection closing, not chunked
        headers = [f"GET {parts.path}?{query} HTTP/1.0", f"Host: {parts.netloc}"]
        headers.append("Accept: text/event-stream")
        if self.last_event_id:
            headers.append(f"Last-Event-ID: {self.last_event_id}")
        self.writer.write(("\r\n".join(headers) + "\r\n\r\n").encode())
        await self.writer.drain()
        status = await self.reader.readline()
        self.status = int(status.split()[1])
        while (await self.reader.readline()) not in (b"\r\n", b""):
            pass
        return self

    async def messages(self):
        """Yield messages until the server closes the connection."""
        message = Message()
        while True:
            line = await self.reader.readline()
            if not line:
                return
            text = line.decode().rstrip("\r\n")
            if text.startswith("id: "):
                message.id = text[4:]
            elif text.startswith("event: "):
                message.event = text[7:]
            elif text.startswith("data: "):
                message.data = text[6:]
            elif text == "" and (message.data or message.event):
                if message.id:
                    self.last_event_id = message.id
                yield message
                message = Message()

    def close(self) -> None:
        self.writer.close()
