/**
 * The session's Prometheus series, gathered from every plugin that has some. A plugin adds a
 * source (a function returning Prometheus text exposition); whichever plugin serves `/metrics`
 * for the session (`devloop:monitoring`) claims the set and concatenates the sources on each
 * scrape. Core stays free of prom-client: a source is just text, so a third-party plugin can use
 * any client library. Without a claimant a plugin serves its own endpoint, as before.
 */
export interface MetricsSource {
  /** Who adds it, for messages (`devloop:cloud-run`). */
  name: string;
  /** Prometheus text exposition (0.0.4). Metric names must not collide with other sources'. */
  collect(): Promise<string> | string;
}

export class MetricsSources {
  private owner?: { name: string; url: () => string | undefined };
  private readonly sources = new Set<MetricsSource>();

  /** Called by the plugin that serves the session's `/metrics`; later sources join it. */
  claim(name: string, url: () => string | undefined): void {
    this.owner = { name, url };
  }

  /** The plugin that serves every source, if one claimed them. */
  get claimedBy(): string | undefined { return this.owner?.name; }
  /** Where the session's `/metrics` is served, once it is. */
  get url(): string | undefined { return this.owner?.url(); }

  /** Adds a source; the returned function removes it (the plugin stops). */
  add(source: MetricsSource): () => void {
    this.sources.add(source);
    return () => { this.sources.delete(source); };
  }

  /**
   * Every source's text, one after another. A source that throws is left out with a comment
   * naming it, so one plugin's bug does not empty the scrape.
   */
  async collect(): Promise<string> {
    const parts = await Promise.all([...this.sources].map(async (s) => {
      try {
        const text = await s.collect();
        return text.endsWith('\n') || text === '' ? text : `${text}\n`;
      } catch (err) {
        return `# ${s.name}: cannot collect: ${(err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ')}\n`;
      }
    }));
    return parts.join('');
  }
}
