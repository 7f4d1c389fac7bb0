import type { ProfileRow } from '../../read/views/profile.ts';
import { builder } from '../builder.ts';
import { UserRef } from './user.ts';

export interface SessionShape {
  token: string;
  user: ProfileRow;
}

export const SessionRef = builder.objectRef<SessionShape>('Session').implement({
  description: 'A signed-in session.',
  fields: (t) => ({
    token: t.exposeString('token', {
      description: 'Send it as `Authorization: Bearer <token>` on HTTP, or as `authorization` in the graphql-ws connection_init payload.',
    }),
    user: t.field({ type: UserRef, description: 'The signed-in person.', resolve: (session) => session.user }),
  }),
});
