import type { Receipt } from '../../write/bus.ts';
import { builder } from '../builder.ts';

export const CommandReceiptRef = builder.objectRef<Receipt>('CommandReceipt').implement({
  description:
    'What a mutation returns: where its effect is, never the data itself. Read the data with a query; pass `position` in `X-Consistent-With` to read your own write.',
  fields: (t) => ({
    commandId: t.exposeID('commandId', { description: 'The id of this command (the same on an idempotent repeat).' }),
    aggregateId: t.exposeID('aggregateId', {
      description: 'The id of what the command created or changed: the new user, post or comment, the friendship, the liked post.',
    }),
    position: t.exposeString('position', {
      description: "The position of the command's events in the log. Views at or past it include the change.",
    }),
  }),
});
