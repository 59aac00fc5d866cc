/** Pages the SDK may open that the emulator does not draw. */
import type { Router } from 'express';
import { actingUser, bare, noUser, uqOf, type HostContext } from '../context.js';
import { page } from '../html.js';

export function mountNotEmulated(r: Router, h: HostContext): void {
  const { portal } = h;
  r.get(['/company/personal/user/:id/', '/marketplace/'], (req, res) => {
    const user = actingUser(portal, req);
    if (!user) return noUser(res);
    res.type('html').send(page({ portal, user, uq: uqOf(user), title: 'Not emulated', bare: bare(req) }, '<p class="muted">This portal page is not emulated.</p>'));
  });
}
