/** Calls `fn` every `ms` while `active`; the timer never keeps the process alive. */
import { useEffect, useRef } from 'react';

export function useInterval(fn: () => void, ms: number, active: boolean): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => saved.current(), ms);
    timer.unref();
    return () => clearInterval(timer);
  }, [ms, active]);
}
