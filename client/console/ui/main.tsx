/** The console page: a header with the views, and the view the hash names. */
import { render } from 'preact';
import 'uplot/dist/uPlot.min.css';
import './console.css';
import { DeadLettersView } from './dead-letters.js';
import { OverviewView } from './overview.js';
import { RequestView } from './request.js';
import { RequestsView } from './requests.js';
import { href, useRoute } from './router.js';

const VIEWS = [
  { path: '/', label: 'Overview' },
  { path: '/requests', label: 'Requests' },
  { path: '/dead-letters', label: 'Dead letters' },
] as const;

function App() {
  const route = useRoute();
  const token = /^\/requests\/(.+)$/.exec(route.path)?.[1];
  const active = token !== undefined ? '/requests' : route.path;
  let view;
  if (token !== undefined) view = <RequestView token={decodeURIComponent(token)} />;
  else if (route.path === '/requests') view = <RequestsView params={route.params} />;
  else if (route.path === '/dead-letters') view = <DeadLettersView params={route.params} />;
  else view = <OverviewView />;
  return (
    <>
      <header>
        <strong class="brand">RIQ console</strong>
        <nav>
          {VIEWS.map((v) => (
            <a
              href={href(v.path)}
              class={active === v.path ? 'active' : ''}
              aria-current={active === v.path ? 'page' : undefined}
            >
              {v.label}
            </a>
          ))}
        </nav>
      </header>
      <main>{view}</main>
    </>
  );
}

const root = document.getElementById('app')!;
root.textContent = ''; // the "Loading" line the page shows until this script runs
render(<App />, root);
