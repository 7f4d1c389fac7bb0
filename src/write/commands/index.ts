import { acceptFriendRequest } from './accept-friend-request.ts';
import { addComment } from './add-comment.ts';
import { declineFriendRequest } from './decline-friend-request.ts';
import { deleteComment } from './delete-comment.ts';
import { deletePost } from './delete-post.ts';
import { editPost } from './edit-post.ts';
import { likePost } from './like-post.ts';
import { publishPost } from './publish-post.ts';
import { registerUser } from './register-user.ts';
import { removeFriend } from './remove-friend.ts';
import { sendFriendRequest } from './send-friend-request.ts';
import { unlikePost } from './unlike-post.ts';
import { updateProfile } from './update-profile.ts';

/** Every command of the domain; the bus registers them all. */
export const allCommands = [
  registerUser,
  updateProfile,
  sendFriendRequest,
  acceptFriendRequest,
  declineFriendRequest,
  removeFriend,
  publishPost,
  editPost,
  deletePost,
  addComment,
  deleteComment,
  likePost,
  unlikePost,
] as const;
