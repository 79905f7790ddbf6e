import { Fragment, useCallback, useEffect, useMemo, useState } from 'react';
import {
  exportAudit, listAudit, listClients, listProviders, listResources, verifyAudit,
  type ActivityEntry, type ApiError, type AuditVerify, type Client, type Provider,
} from '../api';
import { ErrorMessage, Loading, Screen } from '../components';
import {
  NO_NAMES, actionLabel, isOwnRead, moreWords, pensionWords, providerWords, requestAppsOf, sentence, technicalWords, whoWords,
  type Context, type Names,
} from '../activity/sentences';
import { formatClock } from '../consent/words';
import '../consent/consent.css';

const LIMIT = 200;

/** The pension filter's value for entries about pensions this wallet no longer holds (the service's `gone`). */
const GONE = '__gone';

interface Filter {
  pension: string;
  who: string;
  /** One code, or several (space-separated) that the screen names alike. */
  action: string;
}
const NO_FILTER: Filter = { pension: '', who: '', action: '' };

/** The pension references in an entry's detail: `resource_id`, `pei`, a rule's one-pension target. */
function pensionRefs(v: unknown, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(v)) v.forEach((x) => pensionRefs(x, out));
  else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const [k, x] of Object.entries(o)) {
      if ((k === 'resource_id' || k === 'pei') && typeof x === 'string') out.add(x);
      else pensionRefs(x, out);
    }
    if (o.kind === 'resource' && typeof o.id === 'string') out.add(o.id);
  }
  return out;
}

/** A row of the list: one entry, or the wallet's own reads of a day folded into one line. */
type Row = { kind: 'entry'; entry: ActivityEntry } | { kind: 'own-reads'; entries: ActivityEntry[] };

interface Day {
  key: string;
  heading: string;
  rows: Row[];
}

function dayKey(unix: number): string {
  const d = new Date(unix * 1000);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

/** "Today", "Yesterday", else "Friday 27 November 2026" (GOV.UK writes no comma). */
function dayHeading(unix: number, now: Date): string {
  const key = dayKey(unix);
  if (key === dayKey(now.getTime() / 1000)) return 'Today';
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (key === dayKey(yesterday.getTime() / 1000)) return 'Yesterday';
  const d = new Date(unix * 1000);
  return `${d.toLocaleDateString('en-GB', { weekday: 'long' })} ${d.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric' })}`;
}

/**
 * The entries by day, newest first as the log gives them. Each time the
 * owner opens her pensions the wallet reads each one for her, and the log
 * records every read: a day's reads become one "You viewed your pensions"
 * line, where the first of them was, so they do not drown what others did.
 */
export function byDay(entries: ActivityEntry[], now = new Date()): Day[] {
  const days: Day[] = [];
  for (const e of entries) {
    const key = dayKey(e.at);
    let day = days[days.length - 1];
    if (!day || day.key !== key) {
      day = { key, heading: dayHeading(e.at, now), rows: [] };
      days.push(day);
    }
    if (isOwnRead(e)) {
      const folded = day.rows.find((r): r is Extract<Row, { kind: 'own-reads' }> => r.kind === 'own-reads');
      if (folded) folded.entries.push(e);
      else day.rows.push({ kind: 'own-reads', entries: [e] });
    } else {
      day.rows.push({ kind: 'entry', entry: e });
    }
  }
  return days;
}

const entriesWord = (n: number) => `${n} ${n === 1 ? 'entry' : 'entries'}`;

export function Activity() {
  /** The newest entries of the whole log: the list when nothing is filtered, and what the filters offer. */
  const [entries, setEntries] = useState<ActivityEntry[] | null>(null);
  const [check, setCheck] = useState<AuditVerify | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [checkError, setCheckError] = useState<ApiError | null>(null);
  const [lookup, setLookup] = useState<Names>(NO_NAMES);
  const [filter, setFilter] = useState<Filter>(NO_FILTER);
  /** What the service found for a filter, kept with the filter it answers. */
  const [found, setFound] = useState<{ key: string; entries: ActivityEntry[] } | null>(null);
  const [findError, setFindError] = useState<{ key: string; error: ApiError } | null>(null);
  /** Bumped by Refresh, so that a filtered list is asked for again too. */
  const [version, setVersion] = useState(0);
  const [technical, setTechnical] = useState(false);
  const [exporting, setExporting] = useState(false);
  const [exported, setExported] = useState<string | null>(null);
  const [exportError, setExportError] = useState<ApiError | null>(null);

  const load = useCallback(() => {
    setError(null);
    setCheckError(null);
    setVersion((v) => v + 1);
    listAudit(LIMIT).then(setEntries, (e) => setError(e as ApiError));
    verifyAudit().then(setCheck, (e) => setCheckError(e as ApiError));
    // Only to name pensions, apps and providers: the log reads without them.
    Promise.all([
      listResources().catch(() => null),
      listClients().catch(() => [] as Client[]),
      listProviders().catch(() => [] as Provider[]),
    ]).then(([resources, clients, providers]) => setLookup({ known: resources !== null, resources: resources ?? [], clients, providers }));
  }, []);
  useEffect(load, [load]);

  const filtering = !!(filter.pension || filter.who || filter.action);
  const key = JSON.stringify([filter, version]);

  // The filters search the whole log in the service, not just the page
  // loaded here: an old entry about a pension is found however far back.
  useEffect(() => {
    if (!filtering) return;
    let live = true;
    const base = {
      ...(filter.pension ? { pension: filter.pension === GONE ? 'gone' : filter.pension } : {}),
      ...(filter.who ? { who: filter.who } : {}),
    };
    // The service takes one kind of event at a time; a label can stand for several.
    const codes: (string | null)[] = filter.action ? filter.action.split(' ') : [null];
    Promise.all(codes.map((action) => listAudit(LIMIT, action ? { ...base, action } : base))).then((lists) => {
      if (!live) return;
      const bySeq = new Map<number, ActivityEntry>();
      for (const list of lists) for (const e of list) bySeq.set(e.seq, e);
      setFound({ key, entries: [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, LIMIT) });
    }, (e) => { if (live) setFindError({ key, error: e as ApiError }); });
    return () => { live = false; };
    // `key` stands for the filter and the version.
  }, [key, filtering]);

  async function runExport() {
    setExporting(true);
    setExported(null);
    setExportError(null);
    try {
      setExported((await exportAudit()).path);
    } catch (e) {
      setExportError(e as ApiError);
    } finally {
      setExporting(false);
    }
  }

  const options = useMemo(() => {
    const all = entries ?? [];
    const others = [...new Set(all.filter((e) => !e.by_you).map((e) => e.actor))];
    const apps = others.filter((a) => a.startsWith('client:') && lookup.clients.some((c) => `client:${c.client_id}` === a))
      .map((a) => ({ value: a, label: `App: ${whoWords({ actor: a, by_you: false }, lookup).replace(/^“(.*)”$/, '$1')}` }));
    const providers = others.filter((a) => a.startsWith('resource_server:'))
      .map((a) => ({ value: a, label: `Provider: ${providerWords(a.slice('resource_server:'.length), lookup)}` }));
    const whoOptions = [
      { value: 'you', label: 'You' },
      { value: 'apps', label: 'Any app' },
      ...apps.sort((a, b) => a.label.localeCompare(b.label)),
      { value: 'providers', label: 'Any pension provider' },
      ...providers.sort((a, b) => a.label.localeCompare(b.label)),
      { value: 'others', label: 'Someone unknown' },
    ];
    const byLabel = new Map<string, string[]>();
    for (const a of new Set(all.map((e) => e.action))) byLabel.set(actionLabel(a), [...(byLabel.get(actionLabel(a)) ?? []), a]);
    const actionOptions = [...byLabel.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([label, codes]) => ({ value: codes.join(' '), label }));
    const pensionOptions = lookup.resources.map((r) => ({ value: r.id, label: pensionWords(r.id, lookup) }))
      .sort((a, b) => a.label.localeCompare(b.label));
    const goneSeen = all.some((e) => [...pensionRefs(e.detail)].some((ref) => !lookup.resources.some((r) => r.id === ref || r.name === ref)));
    if (lookup.known && goneSeen) pensionOptions.push({ value: GONE, label: 'Pensions no longer in this wallet' });
    return { whoOptions, actionOptions, pensionOptions };
  }, [entries, lookup]);

  const shown: ActivityEntry[] | null = !filtering ? entries : found?.key === key ? found.entries : null;
  const searchError = filtering && findError?.key === key ? findError.error : null;
  const total = check?.entries ?? entries?.length ?? 0;
  const ctx: Context = useMemo(() => ({ names: lookup, requestApps: requestAppsOf(entries ?? [], lookup) }), [entries, lookup]);
  const days = useMemo(() => byDay(shown ?? []), [shown]);
  const set = (k: keyof Filter) => (v: string) => setFilter((f) => ({ ...f, [k]: v }));

  const actions = (
    <>
      <button type="button" onClick={runExport} disabled={exporting} data-testid="activity-export">
        {exporting ? 'Exporting…' : 'Export'}
      </button>
      <button type="button" onClick={load}>Refresh</button>
    </>
  );

  return (
    <Screen name="activity" title="Activity" actions={actions}>
      <div data-testid="audit-status" className="audit-status">
        {checkError ? (
          <ErrorMessage error={checkError} />
        ) : !check ? (
          <Loading what="Checking the activity log…" />
        ) : check.intact ? (
          <p className="success" role="status">The activity log is intact: nothing in it has been changed or removed ({check.entries} entries).</p>
        ) : (
          <p className="error" role="alert">
            The activity log has been changed or damaged from entry {check.broken_at} on{technical && check.reason ? ` (${check.reason})` : ''}, so
            it cannot be trusted. Export a copy and keep it.
          </p>
        )}
      </div>
      {exported && (
        <p className="success" role="status" data-testid="activity-exported">
          Saved a copy of the whole activity log to <span className="mono">{exported}</span>
        </p>
      )}
      <ErrorMessage error={exportError && `The activity log was not exported: ${exportError.message}`} />
      <ErrorMessage error={error} />
      {entries && entries.length === 0 && <p className="empty">Nothing has happened yet.</p>}
      {!entries && !error && <Loading />}
      {entries && entries.length > 0 && (
        <>
          <fieldset className="filters">
            <legend>Show only</legend>
            <div className="row">
              <div className="field">
                <label htmlFor="filter-pension">Pension</label>
                <select id="filter-pension" data-testid="filter-pension" value={filter.pension} onChange={(e) => set('pension')(e.target.value)}>
                  <option value="">All pensions and other events</option>
                  {options.pensionOptions.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
                </select>
              </div>
              <div className="field">
                <label htmlFor="filter-who">Who</label>
                <select id="filter-who" data-testid="filter-who" value={filter.who} onChange={(e) => set('who')(e.target.value)}>
                  <option value="">Everyone</option>
                  {options.whoOptions.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
                </select>
              </div>
              <div className="field">
                <label htmlFor="filter-action">What happened</label>
                <select id="filter-action" data-testid="filter-action" value={filter.action} onChange={(e) => set('action')(e.target.value)}>
                  <option value="">Anything</option>
                  {options.actionOptions.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
                </select>
              </div>
            </div>
            <div className="buttons">
              {filtering && <button type="button" onClick={() => setFilter(NO_FILTER)}>Show everything</button>}
              <div className="check">
                <input type="checkbox" id="activity-technical" data-testid="activity-technical" checked={technical}
                  onChange={(e) => setTechnical(e.target.checked)} />
                <label htmlFor="activity-technical">Show technical details</label>
              </div>
            </div>
          </fieldset>
          <ErrorMessage error={searchError} testId="activity-search-error" />
          {!shown ? (
            !searchError && <Loading what="Looking through the whole activity log…" />
          ) : (
            <>
              <p role="status" data-testid="activity-count" className="activity-count">
                {filtering ? `${shown.length} of ${entriesWord(total)} match.` : `${entriesWord(shown.length)}.`}
              </p>
              {shown.length === 0 ? (
                <p className="empty">Nothing matches. Choose other filters, or “Show everything”.</p>
              ) : (
                days.map((day) => (
                  <section key={day.key} className="activity-day" aria-labelledby={`day-${day.key}`} data-testid="activity-day">
                    <h2 id={`day-${day.key}`}>{day.heading}</h2>
                    <ul className="activity-list">
                      {day.rows.map((row) => (row.kind === 'entry'
                        ? <EntryRow key={row.entry.seq} entry={row.entry} ctx={ctx} technical={technical} />
                        : <OwnReadsRow key={`own-${row.entries[0].seq}`} entries={row.entries} technical={technical} />))}
                    </ul>
                  </section>
                ))
              )}
            </>
          )}
        </>
      )}
      {shown && shown.length === LIMIT && (
        <p className="muted small">Showing the latest {LIMIT} {filtering ? 'entries that match' : 'entries'}. Export saves the whole log.</p>
      )}
    </Screen>
  );
}

/** The codes of an entry, for those who want them (an adviser, support, a regulator). */
function Codes({ entry }: { entry: ActivityEntry }) {
  const detail = technicalWords(entry);
  return (
    <div className="mono small activity-technical" data-testid="audit-technical">
      #{entry.seq} · {entry.action} · {entry.actor}{detail ? <Fragment> · {detail}</Fragment> : null}
    </div>
  );
}

function EntryRow({ entry, ctx, technical }: { entry: ActivityEntry; ctx: Context; technical: boolean }) {
  const more = moreWords(entry);
  return (
    <li data-testid="audit-row" data-seq={entry.seq}>
      <span className="when">{formatClock(entry.at)}</span>
      <div className="what">
        <p data-testid="audit-sentence">{sentence(entry, ctx)}</p>
        {more && <p className="small">{more}</p>}
        {technical && <Codes entry={entry} />}
      </div>
    </li>
  );
}

function OwnReadsRow({ entries, technical }: { entries: ActivityEntry[]; technical: boolean }) {
  const newest = entries[0];
  return (
    <li data-testid="audit-row" data-seq={newest.seq} data-folded={entries.length}>
      <span className="when">{formatClock(newest.at)}</span>
      <div className="what">
        <p data-testid="audit-sentence">
          You viewed your pensions{' '}
          <span className="muted small">(your wallet read them for you {entries.length === 1 ? 'once' : `${entries.length} times`})</span>
        </p>
        {technical && (
          <ul>
            {entries.map((e) => <li key={e.seq}><Codes entry={e} /></li>)}
          </ul>
        )}
      </div>
    </li>
  );
}
