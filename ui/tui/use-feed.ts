/** Subscribes a component to the throttled feed: at most one re-render per publication. */
import { useSyncExternalStore } from 'react';
import type { Feed, FeedSnapshot } from './feed.js';

export function useFeed(feed: Feed): FeedSnapshot {
  return useSyncExternalStore(feed.subscribe, feed.getSnapshot, feed.getSnapshot);
}
