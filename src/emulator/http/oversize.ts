/**
 * Over-long requests the way the portal's front web server answers them (docs/emulator-parity.md,
 * rule 8). Bitrix24 cloud portals sit behind nginx, whose default request-line buffer is 8 KB
 * (`large_client_header_buffers 4 8k`): a longer request line gets nginx's own
 * `414 Request-URI Too Large` HTML page, before any REST code runs, so there is no JSON error body.
 * The exact limit on cloud portals is UNCONFIRMED (the docs are silent); 8 KB is nginx's default.
 *
 * Node's parser limit (`maxHeaderSize`, see server.ts) is raised to 8 MiB so that such requests reach
 * `oversizeRequest`, which answers 414 for the request line and keeps the old header-size rule:
 * header fields over Node's default 16 KiB get 431 with a small HTML body (nginx itself would say
 * 400 "Request Header Or Cookie Too Large"; 431 is the more precise status and what the emulator
 * answered before). Beyond 8 MiB the `clientError` hook guesses from the chunk it is given: 414
 * when that chunk starts with a request line that does not end in it, else 431.
 */
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NextFunction, Request, Response } from 'express';

/** nginx's default request-line buffer. */
export const MAX_REQUEST_LINE = 8192;
/** Node's header limit on the emulator's server: room for over-long requests to be answered as nginx would. */
export const MAX_HEADER_BYTES = 8 * 1024 * 1024;
/** The header-size limit the emulator keeps (Node's default maxHeaderSize). */
export const MAX_HEADER_FIELDS = 16 * 1024;

function page(status: string): string {
  return `<html>\r\n<head><title>${status}</title></head>\r\n<body>\r\n<center><h1>${status}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

export const URI_TOO_LONG_HTML = page('414 Request-URI Too Large');
const HEADERS_TOO_LARGE_HTML = page('431 Request Header Fields Too Large');

function rawResponse(status: string, body: string): string {
  return `HTTP/1.1 ${status}\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/** Express middleware: an over-long request line gets nginx's 414 page, oversized header fields 431. */
export function oversizeRequest(req: Request, res: Response, next: NextFunction): void {
  const line = req.method.length + 1 + req.originalUrl.length + ' HTTP/1.1'.length;
  if (line > MAX_REQUEST_LINE) {
    res.status(414).type('text/html').set('Connection', 'close').send(URI_TOO_LONG_HTML);
    return;
  }
  let bytes = 0;
  for (const h of req.rawHeaders) bytes += h.length + 2;
  if (bytes > MAX_HEADER_FIELDS) {
    res.status(431).type('text/html').set('Connection', 'close').send(HEADERS_TOO_LARGE_HTML);
    return;
  }
  next();
}

/** Requests Node's parser refuses as too large: 414 for an over-long request line, else 431. */
export function attachOversizeHandler(server: Server): void {
  server.on('clientError', (err: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      const raw = err.rawPacket?.toString('latin1') ?? '';
      const eol = raw.indexOf('\r\n');
      const requestLine = /^[A-Z]+ /.test(raw) && (eol < 0 || eol > MAX_REQUEST_LINE);
      socket.end(requestLine ? rawResponse('414 Request-URI Too Large', URI_TOO_LONG_HTML) : rawResponse('431 Request Header Fields Too Large', HEADERS_TOO_LARGE_HTML));
      return;
    }
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });
}
