/** `GET /_host/users`: the active users, for the frame's selectUser dialog. */
import type { Router } from 'express';
import type { HostContext } from '../context.js';
import { userName } from '../html.js';

export function mountUserPicker(r: Router, h: HostContext): void {
  const { portal } = h;
  r.get('/_host/users', (_req, res) => {
    res.json([...portal.users.values()].filter((u) => u.active).map((u) => ({
      id: String(u.id), name: userName(u), position: u.workPosition ?? '', photo: '', url: `/company/personal/user/${u.id}/`,
    })));
  });
}
