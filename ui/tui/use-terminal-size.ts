/** The terminal's size, re-read on resize. Ink re-renders on resize, but only for its own width. */
import { useStdout } from 'ink';
import { useEffect, useState } from 'react';

export interface Size {
  columns: number;
  rows: number;
}

const FALLBACK: Size = { columns: 100, rows: 30 };

export function useTerminalSize(override?: Partial<Size>): Size {
  const { stdout } = useStdout();
  const read = (): Size => ({
    columns: override?.columns ?? (stdout.columns || FALLBACK.columns),
    rows: override?.rows ?? (stdout.rows || FALLBACK.rows),
  });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    onResize();
    stdout.on('resize', onResize);
    return () => { stdout.off('resize', onResize); };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [stdout, override?.columns, override?.rows]);
  return size;
}
