/**
 * The simulated Confluence's in-memory data: spaces (seeded, each with a home page) and pages with
 * their version numbers. Reset drops every page and seeds the spaces and home pages again.
 */

export interface SimSpace {
  /** Numeric string, as Confluence Cloud. */
  id: string;
  key: string;
  name: string;
  homepageId: string;
  /** Epoch milliseconds. */
  createdAt: number;
}

export interface SimPage {
  id: string;
  spaceId: string;
  /** Null only for the spaces' home pages. */
  parentId: string | null;
  title: string;
  /** Storage-format XHTML. */
  body: string;
  version: number;
  /** Epoch milliseconds. */
  createdAt: number;
  versionCreatedAt: number;
}

export interface SimSpaceSeed {
  key: string;
  name?: string;
}

export const DEFAULT_SPACES: readonly SimSpaceSeed[] = [
  { key: 'MD', name: 'Managed Docs' },
  { key: 'RIQ', name: 'Resilient Integration Queue' },
];

/** The account every simulated page and version is written by. */
export const SIM_ACCOUNT_ID = '557058:5f0c1a2b-sim-0000-riq0-000000000001';

const FIRST_SPACE_ID = 65_537;
const FIRST_PAGE_ID = 196_609;

export class ConfluenceState {
  /** By id. */
  readonly spaces = new Map<string, SimSpace>();
  private readonly pagesById = new Map<string, SimPage>();
  private nextPageId = FIRST_PAGE_ID;

  constructor(
    private readonly seed: readonly SimSpaceSeed[] = DEFAULT_SPACES,
    private readonly now: () => number = Date.now,
  ) {
    this.reset();
  }

  reset(): void {
    this.spaces.clear();
    this.pagesById.clear();
    this.nextPageId = FIRST_PAGE_ID;
    let spaceId = FIRST_SPACE_ID;
    for (const s of this.seed) {
      const at = this.now();
      const id = String(spaceId++);
      const name = s.name ?? s.key;
      const home = this.insertPage({
        spaceId: id,
        parentId: null,
        title: `${name} Home`,
        body: `<p>Welcome to ${escapeXml(name)}.</p>`,
      });
      this.spaces.set(id, { id, key: s.key, name, homepageId: home.id, createdAt: at });
    }
  }

  /** A space by key, exactly as Confluence matches keys. */
  spaceByKey(key: string): SimSpace | undefined {
    for (const s of this.spaces.values()) if (s.key === key) return s;
    return undefined;
  }

  page(id: string): SimPage | undefined {
    return this.pagesById.get(id);
  }

  /** Every page (home pages included), oldest first. */
  allPages(): SimPage[] {
    return [...this.pagesById.values()];
  }

  /** The page in the space with this title (titles are unique per space, ignoring case). */
  pageByTitle(spaceId: string, title: string): SimPage | undefined {
    const wanted = title.toLowerCase();
    for (const p of this.pagesById.values()) {
      if (p.spaceId === spaceId && p.title.toLowerCase() === wanted) return p;
    }
    return undefined;
  }

  createPage(input: { spaceId: string; parentId: string; title: string; body: string }): SimPage {
    return this.insertPage(input);
  }

  /** Replaces title and body and bumps the version by one. */
  updatePage(page: SimPage, input: { title: string; body: string }): SimPage {
    page.title = input.title;
    page.body = input.body;
    page.version++;
    page.versionCreatedAt = this.now();
    return page;
  }

  private insertPage(input: {
    spaceId: string;
    parentId: string | null;
    title: string;
    body: string;
  }): SimPage {
    const at = this.now();
    const page: SimPage = {
      id: String(this.nextPageId++),
      ...input,
      version: 1,
      createdAt: at,
      versionCreatedAt: at,
    };
    this.pagesById.set(page.id, page);
    return page;
  }
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
