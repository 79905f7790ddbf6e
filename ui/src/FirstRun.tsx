import { useCallback, useEffect, useRef, useState } from 'react';
import { exportBackup, listProviders, type ApiError, type Provider } from './api';
import { ErrorMessage, Loading, Notice } from './components';
import { AddProviderForm } from './AddProvider';
import { ProveIdentity } from './ProveIdentity';
import { FindOutcomes, OfferList, WhatHappensNext, useFindPensions, type FindPensions } from './screens/Offers';
import { providerLabel } from './format';
import { RegisterProblem, fetchRegister, refetching, registerError, type RegisterState } from './Register';
import './wallet.css';

/** The four things that make a new wallet useful, in the order they depend on each other. */
const STEPS = [
  { key: 'prove', title: 'Prove who you are' },
  { key: 'find', title: 'Find your pensions' },
  { key: 'protect', title: 'Protect the pensions you recognise' },
  { key: 'backup', title: 'Make a backup' },
] as const;

type Step = (typeof STEPS)[number]['key'];

/** How many providers the find step names before saying "and N others". */
const SHOWN_PROVIDERS = 8;

/**
 * The first run, right after the wallet is created: instead of an empty
 * Pensions screen, each step in turn. Each can be left for later; nothing
 * here is needed to use the wallet.
 */
export function FirstRun({ onFinish }: { onFinish: () => void }) {
  const [step, setStep] = useState<Step>('prove');
  const heading = useRef<HTMLHeadingElement>(null);
  // One search for the find and protect steps, shared with the Find pensions screen afterwards.
  const find = useFindPensions();
  /** The steps she finished, as opposed to those she left for later. */
  const [done, setDone] = useState<Step[]>([]);
  const index = STEPS.findIndex((s) => s.key === step);
  const next = useCallback((finished: boolean) => {
    if (finished) setDone((d) => [...d, step]);
    if (index === STEPS.length - 1) onFinish();
    else setStep(STEPS[index + 1].key);
  }, [index, onFinish, step]);

  // Each step starts at its heading, as a new page would.
  useEffect(() => { heading.current?.focus(); }, [step]);

  // The list of pension providers is fetched from the start, while she
  // proves who she is, so that it is there when she looks for her pensions.
  const [register, setRegister] = useState<RegisterState>({ state: 'fetching' });
  const getRegister = useCallback(() => {
    setRegister(refetching);
    void fetchRegister().then(setRegister);
  }, []);
  useEffect(getRegister, [getRegister]);

  return (
    <section className="screen onboarding first-run" data-testid="screen-first-run" data-step={step} aria-labelledby="h-first-run">
      <p className="first-run-progress" data-testid="first-run-progress">Setting up your wallet: step {index + 1} of {STEPS.length}</p>
      <h1 id="h-first-run" tabIndex={-1} ref={heading}>{STEPS[index].title}</h1>
      <ol className="first-run-steps" aria-label="Steps">
        {STEPS.map((s, i) => {
          const finished = done.includes(s.key);
          return (
            <li key={s.key} aria-current={i === index ? 'step' : undefined}
              className={i === index ? 'current' : finished ? 'done' : undefined}>
              {s.title}
              {finished && <><span aria-hidden="true"> ✓</span><span className="sr-only"> (done)</span></>}
              {i < index && !finished && <span className="sr-only"> (left for later)</span>}
            </li>
          );
        })}
      </ol>
      {step === 'prove' && <ProveStep onNext={next} />}
      {step === 'find' && <FindStep find={find} register={register} onRetryRegister={getRegister} onNext={next} />}
      {step === 'protect' && <ProtectStep find={find} onNext={next} />}
      {step === 'backup' && <BackupStep onNext={next} />}
      <p className="first-run-exit">
        <button type="button" className="link-button" data-testid="first-run-exit" onClick={onFinish}>
          Stop setting up and go to my pensions
        </button>
      </p>
    </section>
  );
}

/** The buttons under each step: go on, or leave this step for later. */
function StepButtons({ onNext, ready, nextLabel = 'Continue', laterLabel = 'I’ll do this later' }: {
  /** `true`: the step was done; `false`: left for later. */
  onNext: (finished: boolean) => void;
  /** Whether the step is done, so that going on is not "later". */
  ready: boolean;
  nextLabel?: string;
  laterLabel?: string;
}) {
  return (
    <div className="buttons first-run-buttons">
      {ready && <button type="button" className="primary" data-testid="first-run-next" onClick={() => onNext(true)}>{nextLabel}</button>}
      {!ready && <button type="button" data-testid="first-run-later" onClick={() => onNext(false)}>{laterLabel}</button>}
    </div>
  );
}

function ProveStep({ onNext }: { onNext: (finished: boolean) => void }) {
  const [proven, setProven] = useState(false);
  return (
    <>
      <p>
        Pension providers only connect a pension to your wallet once you have proved who you are. You sign in with an identity
        service in your web browser, and it tells your wallet that it has checked your name, date of birth and address.
      </p>
      <ProveIdentity embedded onProven={() => setProven(true)} />
      <StepButtons onNext={onNext} ready={proven} />
    </>
  );
}

function FindStep({ find, register, onRetryRegister, onNext }: {
  find: FindPensions;
  register: RegisterState;
  onRetryRegister: () => void;
  onNext: (finished: boolean) => void;
}) {
  const [providers, setProviders] = useState<Provider[] | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const load = useCallback(() => listProviders().then((l) => { setProviders(l); setLoadError(null); }, (e) => setLoadError(e as ApiError)), []);
  // Again once the register has come: it adds the providers it lists.
  const fetching = register.state === 'fetching';
  useEffect(() => { if (!fetching) void load(); }, [load, fetching]);
  const { result, searching, searchError, search } = find;
  const found = result?.offers?.offers.length ?? null;

  if (fetching && !providers) return <Loading what="Getting the list of pension providers…" />;
  if (loadError) return <><ErrorMessage error={loadError} /><StepButtons onNext={onNext} ready={false} /></>;
  if (!providers) return <Loading what="Looking at which providers your wallet knows…" />;
  return (
    <>
      {registerError(register) && <RegisterProblem error={registerError(register)!} onRetry={() => { if (!fetching) onRetryRegister(); }} busy={fetching} />}
      {providers.length === 0 ? (
        <div data-testid="first-run-no-providers">
          <p>
            Your wallet does not know any pension providers yet, so it cannot look for your pensions now. Pension providers
            are usually added from the official list of providers; this wallet does not have one yet.
          </p>
          <p>You can leave this for later: you can find your pensions at any time from “Find pensions”.</p>
          <details className="advanced" data-testid="first-run-advanced">
            <summary>Advanced: add a provider by web address</summary>
            <AddProviderForm prefix="first-run-" onAdded={load} />
          </details>
        </div>
      ) : (
        <>
          <p>
            Your wallet will ask {providers.length === 1 ? 'your pension provider' : `these ${providers.length} pension providers`} which
            pensions they hold for you. It sends them the details you gave, and your proof of identity if you have one.
          </p>
          <ul className="first-run-providers" data-testid="first-run-providers">
            {/* A long official list would bury the button: a few names say enough. */}
            {(providers.length > SHOWN_PROVIDERS ? providers.slice(0, SHOWN_PROVIDERS - 1) : providers).map((p) => <li key={p.url}>{providerLabel(p.name)}</li>)}
            {providers.length > SHOWN_PROVIDERS && <li>and {providers.length - SHOWN_PROVIDERS + 1} others</li>}
          </ul>
          <div className="find-bar">
            <button type="button" className={result ? undefined : 'primary'} data-testid="find-pensions" onClick={search} disabled={searching}>
              {searching ? 'Searching…' : result ? 'Search again' : 'Find my pensions'}
            </button>
            {searching && <p className="muted" role="status">Asking your providers. This can take a moment…</p>}
          </div>
          <ErrorMessage error={searchError} />
          {result && (
            <>
              <p role="status" data-testid="first-run-found">
                {found === null ? 'Your providers answered.'
                  : found === 0 ? 'No pensions were found that this wallet could look after.'
                  : found === 1 ? 'Found 1 pension that this wallet can look after.'
                  : `Found ${found} pensions that this wallet can look after.`}
              </p>
              <FindOutcomes result={result} providers={providers} />
            </>
          )}
        </>
      )}
      <StepButtons onNext={onNext} ready={!!result && !searching} />
    </>
  );
}

function ProtectStep({ find, onNext }: { find: FindPensions; onNext: (finished: boolean) => void }) {
  const [providers, setProviders] = useState<Provider[]>([]);
  useEffect(() => { listProviders().then(setProviders, () => setProviders([])); }, []);
  const offers = find.result?.offers?.offers ?? [];
  const protectedCount = Object.values(find.accepts).filter((a) => a.state === 'done').length;
  return (
    <>
      {offers.length === 0 ? (
        <p data-testid="first-run-nothing-to-protect">
          There is nothing to protect yet: no pensions were found. You can look again at any time from “Find pensions”.
        </p>
      ) : (
        <>
          <p>
            Protect each pension you recognise. Your wallet then looks after it: nobody sees it without asking you. If you are not
            sure a pension is yours, leave it: you can come back to it in “Find pensions”.
          </p>
          <WhatHappensNext />
          <OfferList find={find} providers={providers} />
        </>
      )}
      <StepButtons onNext={onNext} ready={protectedCount > 0} />
    </>
  );
}

function BackupStep({ onNext }: { onNext: (finished: boolean) => void }) {
  const [busy, setBusy] = useState(false);
  const [path, setPath] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  async function backUp() {
    setBusy(true);
    setError(null);
    try {
      setPath((await exportBackup()).path);
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
  }
  return (
    <>
      <p>
        A backup is a copy of your wallet, locked with your passphrase. If this computer breaks or is lost, you can bring your
        wallet back from it, with your sharing choices and history. Your pensions themselves are always safe with your providers.
      </p>
      <p>Keep a copy somewhere away from this computer, such as a USB stick. You can make backups at any time in Settings.</p>
      {!path && (
        <div className="buttons">
          <button type="button" className="primary" data-testid="first-run-backup" onClick={backUp} disabled={busy}>
            {busy ? 'Making a backup…' : 'Make a backup now'}
          </button>
        </div>
      )}
      <ErrorMessage error={error} />
      {path && (
        <Notice testId="first-run-backup-path">
          Your backup is saved in <span className="mono">{path}</span>. Copy it somewhere safe, away from this computer.
        </Notice>
      )}
      <StepButtons onNext={onNext} ready={!!path} nextLabel="Go to my pensions" />
    </>
  );
}
