/** The header: project, session, service counts, Devfile, alerts, Autopilot cost, monitoring links, connection. */
import type { ServiceState } from '../../../core/store/state.js';
import type { Boot, SessionView } from '../protocol.js';
import { BUSY_PHASES } from '../../tui/theme.js';
import { usd } from '../../tui/format.js';
import { firingAlerts } from '../../tui/error-lines.js';
import { autopilotUsdPerHour, fill, h, link, obj } from './dom.js';

export class Header {
  readonly el: HTMLElement;
  private summary = h('span', { class: 'summary' });
  private devfile = h('span', { class: 'devfile' });
  private extras = h('span', { class: 'extras' });
  readonly connection = h('span', { id: 'connection', class: 'conn down' }, 'connecting');

  private readonly project: string;

  constructor(boot: Boot) {
    this.project = boot.project;
    this.el = h('header', null,
      h('span', { class: 'brand' }, 'devloop'),
      h('span', { class: 'project', title: `devloop ${boot.version}, pid ${boot.pid}` }, boot.project),
      this.summary, this.devfile, this.extras, h('span', { class: 'spacer' }), this.connection);
  }

  setConnection(state: 'live' | 'reconnecting' | 'connecting'): void {
    this.connection.textContent = state;
    this.connection.className = `conn ${state === 'live' ? 'up' : 'down'}`;
  }

  update(session: SessionView, services: Map<string, ServiceState>): void {
    let healthy = 0, updating = 0, waiting = 0, failing = 0, cost = 0, costed = 0;
    const all = session.order.map((n) => services.get(n)).filter((s): s is ServiceState => !!s);
    for (const s of all) {
      if (s.phase === 'healthy') healthy++;
      else if (BUSY_PHASES.has(s.phase)) updating++;
      else if (s.phase === 'failed' || s.phase === 'unhealthy') failing++;
      else if (s.phase === 'pending' || s.phase === 'queued') waiting++;
      const c = autopilotUsdPerHour(s);
      if (c !== undefined) { cost += c; costed++; }
    }
    fill(this.summary,
      h('span', { class: `status st-${session.status}` }, session.status), ' · ',
      `${all.length} service${all.length === 1 ? '' : 's'}`,
      healthy ? h('span', { class: 'c-green' }, ` ${healthy} healthy`) : null,
      updating ? h('span', { class: 'c-yellow' }, ` ${updating} updating`) : null,
      waiting ? h('span', { class: 'c-gray' }, ` ${waiting} waiting`) : null,
      failing ? h('span', { class: 'c-red' }, ` ${failing} failing`) : null);
    // The tab's title says what is wrong, for a tab in the background.
    const trouble = hasDevfileError(session) ? 'Devfile error' : failing ? `${failing} failing` : updating ? `${updating} updating` : '';
    document.title = `${trouble ? `${trouble} · ` : ''}${this.project} · devloop`;
    const cfg = session.config;
    const base = cfg.file ? cfg.file.split(/[\\/]/).pop() : 'Devfile';
    fill(this.devfile, h('span', { title: cfg.file ?? '' }, `${base} v${cfg.version}`),
      cfg.error ? h('span', { class: 'badge err', title: cfg.error.message }, 'Devfile error') : null);
    const alerts = firingAlerts(session).length;
    const urls = obj(obj(session.extra?.['devloop:monitoring']).urls);
    fill(this.extras,
      alerts ? h('span', { class: 'badge err' }, `${alerts} alert${alerts > 1 ? 's' : ''} firing`) : null,
      costed ? h('span', { class: 'cost', title: 'Autopilot estimate, all services' }, `${usd(cost)}/h`) : null,
      ...Object.entries(urls).filter(([, u]) => typeof u === 'string').map(([name, u]) => { const a = link(u as string, name); a.classList.add('mon'); a.title = u as string; return a; }));
  }
}

const hasDevfileError = (session: SessionView) => !!session.config.error;
