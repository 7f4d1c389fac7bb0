import type { Projection } from '../projection.ts';
import { feedProjection } from './feed.ts';
import { friendsProjection } from './friends.ts';
import { postsProjection } from './posts.ts';
import { profileProjection } from './profile.ts';

/** Every view, in the order each event is applied: the feed reads the friends and posts before it. */
export const allProjections: readonly Projection[] = [profileProjection, friendsProjection, postsProjection, feedProjection];
