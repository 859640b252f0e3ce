export function message(greeting: string): string {
  return `${greeting} from devloop`;
}
