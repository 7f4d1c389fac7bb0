import type { Random } from './random.ts';

/*
 * Small word lists and sentence templates for the demo world: readable, varied enough that two
 * feeds do not look alike, and all plain ASCII.
 */

export const FIRST_NAMES = [
  'Ada', 'Alan', 'Amara', 'Ana', 'Arjun', 'Astrid', 'Ben', 'Bianca', 'Carla', 'Chen', 'Chloe', 'Dario',
  'David', 'Elena', 'Eli', 'Emeka', 'Emma', 'Farah', 'Felix', 'Freya', 'Grace', 'Hana', 'Hugo', 'Ines',
  'Ivan', 'Jamal', 'Jonas', 'Julia', 'Kai', 'Kenji', 'Lara', 'Leo', 'Lena', 'Luca', 'Maya', 'Mateo',
  'Mia', 'Nadia', 'Nico', 'Noah', 'Nora', 'Olga', 'Omar', 'Paula', 'Priya', 'Rafael', 'Rosa', 'Ruth',
  'Sam', 'Sara', 'Sofia', 'Tariq', 'Theo', 'Uma', 'Vera', 'Viktor', 'Wei', 'Yara', 'Yusuf', 'Zoe',
] as const;

export const LAST_NAMES = [
  'Abebe', 'Alvarez', 'Andersen', 'Bauer', 'Becker', 'Bianchi', 'Brown', 'Carter', 'Costa', 'Dubois',
  'Eriksen', 'Fischer', 'Fontaine', 'Garcia', 'Gupta', 'Haddad', 'Hansen', 'Ito', 'Jensen', 'Kim',
  'Kowalski', 'Laine', 'Lopez', 'Martin', 'Meyer', 'Moreau', 'Murphy', 'Nakamura', 'Novak', 'Nowak',
  'Okafor', 'Olsen', 'Park', 'Patel', 'Perez', 'Petrov', 'Quinn', 'Rossi', 'Sato', 'Schmidt', 'Silva',
  'Singh', 'Smith', 'Suzuki', 'Tanaka', 'Torres', 'Varga', 'Wagner', 'Walsh', 'Weber', 'Wong', 'Yilmaz',
] as const;

const PLACES = [
  'the coast', 'the mountains', 'Lisbon', 'the farmers market', 'grandma\'s house', 'the lake', 'Kyoto',
  'the new library', 'the old town', 'a tiny island', 'the climbing gym', 'the botanical garden', 'Berlin',
  'the night market', 'the river path', 'a cabin in the woods', 'the jazz club downtown', 'Marrakesh',
] as const;

const FOODS = [
  'sourdough', 'ramen', 'lemon cake', 'shakshuka', 'dumplings', 'banana bread', 'paella', 'pho', 'tacos',
  'risotto', 'apple pie', 'curry', 'falafel', 'pancakes', 'gnocchi', 'kimchi stew', 'cinnamon rolls',
] as const;

const ACTIVITIES = [
  'a long bike ride', 'a slow breakfast', 'board games', 'a hike', 'a swim', 'gardening', 'a movie night',
  'baking', 'a run along the river', 'fixing the old bike', 'painting the kitchen', 'a picnic', 'yoga',
  'learning the guitar', 'a bookshop crawl', 'a pottery class', 'a nap', 'cleaning out the garage',
] as const;

const THINGS = [
  'sunset', 'view', 'playlist', 'weekend', 'coffee', 'book', 'concert', 'match', 'trip', 'recipe',
  'garden', 'idea', 'workshop', 'podcast', 'photo', 'walk', 'surprise', 'dinner',
] as const;

const OUTINGS = ['trip', 'weekend', 'day', 'afternoon', 'week', 'evening'] as const;

const ADJECTIVES = [
  'wonderful', 'ridiculous', 'cozy', 'unexpected', 'perfect', 'lovely', 'chaotic', 'quiet', 'brilliant',
  'strange', 'relaxing', 'exhausting', 'delicious', 'beautiful', 'memorable', 'rainy', 'sunny',
] as const;

const BOOKS = [
  'The Left Hand of Darkness', 'Middlemarch', 'Piranesi', 'The Remains of the Day', 'Dune', 'Beloved',
  'A Gentleman in Moscow', 'The Overstory', 'Kindred', 'Circe', 'The Name of the Rose', 'Stoner',
] as const;

const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;

const FEELINGS = [
  'Highly recommended.', 'Would do it again tomorrow.', 'Not sure how I feel about it yet.',
  'Ten out of ten.', 'My legs disagree.', 'Worth every minute.', 'Still smiling.', 'Never again. Probably.',
] as const;

const QUESTIONS = [
  'Anyone up for joining next time?', 'Who else has been?', 'Any tips?', 'What should I try next?',
  'Has anyone read it?', 'Thoughts?', 'Am I the last person to discover this?',
] as const;

type Template = (r: Random) => string;

/** "a quiet", "an unexpected". */
const withArticle = (word: string) => `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;

const OWN_WALL: readonly Template[] = [
  (r) => `Just got back from ${r.pick(PLACES)}. What ${withArticle(r.pick(ADJECTIVES))} ${r.pick(OUTINGS)}!`,
  (r) => `Made ${r.pick(FOODS)} for the first time today. ${r.pick(FEELINGS)}`,
  (r) => `Finished reading "${r.pick(BOOKS)}". ${r.pick(FEELINGS)} ${r.pick(QUESTIONS)}`,
  (r) => `${r.pick(DAYS)} plans: ${r.pick(ACTIVITIES)}, then ${r.pick(ACTIVITIES)}.`,
  (r) => `What ${withArticle(r.pick(ADJECTIVES))} ${r.pick(THINGS)} at ${r.pick(PLACES)}. ${r.pick(QUESTIONS)}`,
  (r) => `Does anyone have a good recipe for ${r.pick(FOODS)}? Asking for a friend.`,
  (r) => `Spent the whole day on ${r.pick(ACTIVITIES)}. ${r.pick(FEELINGS)}`,
  (r) => `Thinking about moving closer to ${r.pick(PLACES)}. ${r.pick(QUESTIONS)}`,
  (r) => `Today's small joy: ${r.pick(FOODS)} and ${withArticle(r.pick(ADJECTIVES))} ${r.pick(OUTINGS)} at ${r.pick(PLACES)}.`,
  (r) => `New hobby unlocked: ${r.pick(ACTIVITIES)}. ${r.pick(FEELINGS)}`,
];

/** Posts written on someone else's wall; `name` is the wall owner's first name. */
const FRIENDS_WALL: readonly ((r: Random, name: string) => string)[] = [
  (r, name) => `Happy birthday, ${name}! Let's celebrate with ${r.pick(FOODS)} soon.`,
  (r, name) => `${name}, thanks again for the ${r.pick(ADJECTIVES)} ${r.pick(THINGS)} last ${r.pick(DAYS)}!`,
  (r, name) => `Great to see you at ${r.pick(PLACES)}, ${name}. We should plan ${r.pick(ACTIVITIES)} next.`,
  (r, name) => `${name}, you have to read "${r.pick(BOOKS)}". ${r.pick(FEELINGS)}`,
  (r, name) => `Missing our ${r.pick(DAYS)} ${r.pick(THINGS)}s, ${name}. Same time next week?`,
];

const COMMENTS: readonly Template[] = [
  () => 'Love this!',
  () => 'So jealous right now.',
  () => 'Count me in next time.',
  (r) => `Have you tried ${r.pick(FOODS)} there?`,
  () => 'Haha, classic.',
  (r) => `That ${r.pick(THINGS)} looks ${r.pick(ADJECTIVES)}.`,
  () => 'Miss you! Call me this week?',
  (r) => `${r.pick(FEELINGS)}`,
  (r) => `We did ${r.pick(ACTIVITIES)} last ${r.pick(DAYS)}, you would have loved it.`,
  () => 'Saving this for later.',
  () => 'Yes! Finally someone said it.',
  (r) => `Reminds me of ${r.pick(PLACES)}.`,
];

export function postOnOwnWall(r: Random): string {
  return r.pick(OWN_WALL)(r);
}

export function postOnFriendsWall(r: Random, ownerFirstName: string): string {
  return r.pick(FRIENDS_WALL)(r, ownerFirstName);
}

export function comment(r: Random): string {
  return r.pick(COMMENTS)(r);
}
