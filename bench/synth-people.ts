import { mulberry32 } from '../src/identity/fellegi-sunter.ts';
import type { PersonInput, PersonRecord } from '../src/identity/types.ts';

/**
 * Synthetic people with realistic corruption, for speed/memory benchmarks and held-out sanity
 * checks: households sharing an address, family name and often a phone; duplicates with typos,
 * nicknames, moved addresses, unit variants, phone formats, Gmail dot/plus variants, swapped
 * day/month, and missing fields.
 */
export interface SynthOptions {
  records: number;
  seed?: number;
}

export interface SynthPeople {
  records: PersonRecord[];
  /** True entity id per record. */
  entity: string[];
}

const GIVEN = (
  'james robert john michael william david richard joseph thomas charles christopher daniel matthew anthony mark ' +
  'donald steven paul andrew joshua kenneth kevin brian george timothy ronald edward jason jeffrey ryan jacob gary ' +
  'nicholas eric jonathan stephen larry justin scott brandon benjamin samuel gregory alexander frank patrick ' +
  'raymond jack dennis jerry tyler aaron jose adam nathan henry douglas zachary peter kyle noah ethan jeremy ' +
  'walter christian keith roger terry austin sean gerald carl harold dylan arthur lawrence jordan jesse bryan ' +
  'billy bruce gabriel joe logan albert willie alan eugene russell vincent philip bobby johnny bradley mary ' +
  'patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy betty sandra margaret ashley ' +
  'kimberly emily donna michelle carol amanda melissa deborah stephanie dorothy rebecca sharon laura cynthia amy ' +
  'kathleen angela shirley brenda emma anna pamela nicole samantha katherine christine helen debra rachel carolyn ' +
  'janet maria catherine heather diane olivia julie joyce victoria ruth virginia lauren kelly christina joan ' +
  'evelyn judith andrea hannah megan cheryl jacqueline martha madison teresa gloria sara janice ann kathryn ' +
  'abigail sophia frances jean alice judy isabella julia grace amber denise danielle marilyn beverly charlotte ' +
  'natalie theresa diana brittany doris kayla alexis lori marie'
).split(' ');
const NICK: Record<string, string> = {
  robert: 'bob',
  william: 'bill',
  richard: 'dick',
  james: 'jim',
  michael: 'mike',
  elizabeth: 'liz',
  margaret: 'peggy',
  katherine: 'kate',
  thomas: 'tom',
  joseph: 'joe',
  christopher: 'chris',
  daniel: 'dan',
  matthew: 'matt',
  anthony: 'tony',
  edward: 'ted',
  jennifer: 'jen',
  patricia: 'pat',
  rebecca: 'becky',
  samuel: 'sam',
  victoria: 'vicky',
  susan: 'sue',
  andrew: 'andy',
  benjamin: 'ben',
  nicholas: 'nick',
  alexander: 'alex',
  timothy: 'tim',
  stephen: 'steve',
  jonathan: 'jon',
  kenneth: 'ken',
  lawrence: 'larry',
  catherine: 'cathy',
  deborah: 'debbie',
  pamela: 'pam',
  jessica: 'jess',
  zachary: 'zach',
};
const SYL = (
  'son ler man ton ber ford ley field well wood ing ris ins dal kin mer den ski vic han ock art ell ong ney wick ' +
  'stone brook'
).split(' ');
const ROOT = (
  'smith john will brown jones mill davi gar rod wil mart ander tay thom her moor jack whit harr sanch clark ram ' +
  'lew robin walk young allen king wright scott torr nguy hill flor green adam nel bak hall riv camp mitch cart ' +
  'rob gom phil evan turn diaz park cruz edward coll reyes stew morr mor murph cook rog gut ort morg coop pet bail ' +
  'reed kell how ram kim cox ward rich wat brook chav wood jam benn gray mend ruiz hugh price alv cast sand pat ' +
  'myer long ross fost jim'
).split(' ');
const STREET = (
  'main oak pine maple cedar elm washington lake hill park view sunset river church spring north south ridge ' +
  'walnut willow forest highland meadow lincoln jackson franklin center mill dogwood cherry laurel chestnut ' +
  'hickory jefferson madison adams poplar birch'
).split(' ');
const TYPES: [string, string][] = [
  ['street', 'st'],
  ['avenue', 'ave'],
  ['road', 'rd'],
  ['drive', 'dr'],
  ['lane', 'ln'],
  ['court', 'ct'],
  ['place', 'pl'],
  ['boulevard', 'blvd'],
];
const CITIES = (
  'springfield riverside franklin greenville bristol clinton fairview salem madison georgetown arlington ashland ' +
  'burlington manchester milton newport oxford jackson dover hudson kingston lebanon marion'
).split(' ');
const STATES = 'ca tx ny fl il pa oh ga nc mi nj va wa az ma tn in mo md wi co mn sc al la'.split(' ');
const DOMAINS = ['gmail.com', 'yahoo.com', 'outlook.com', 'hotmail.com', 'icloud.com', 'aol.com'];

interface Person {
  given: string;
  family: string;
  dob: string;
  email: string;
  phone: string;
  number: string;
  street: [string, string];
  unit: string;
  city: string;
  state: string;
  zip: string;
}

export function generateSyntheticPeople(opts: SynthOptions): SynthPeople {
  const rand = mulberry32(opts.seed ?? 42);
  const gen = new Generator(rand);
  const records: PersonRecord[] = [];
  const entity: string[] = [];
  let personId = 0;
  while (records.length < opts.records) {
    for (const person of gen.household()) {
      const id = `p${personId++}`;
      const copies = rand() < 0.35 ? 1 + Math.floor(rand() * 3) : 0;
      for (let k = 0; k <= copies && records.length < opts.records; k++) {
        records.push({
          id: `${id}-${k}`,
          fields: k === 0 ? gen.render(person, false) : gen.render(gen.corrupt(person), true),
        });
        entity.push(id);
      }
    }
  }
  // Shuffle so duplicates are not adjacent (order must not help blocking).
  for (let i = records.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [records[i], records[j]] = [records[j]!, records[i]!];
    [entity[i], entity[j]] = [entity[j]!, entity[i]!];
  }
  return { records, entity };
}

class Generator {
  readonly rand: () => number;
  constructor(rand: () => number) {
    this.rand = rand;
  }
  pick<T>(xs: readonly T[]): T {
    // Squared uniform gives a skewed (Zipf-like) choice: some names are much more common.
    return xs[Math.floor(this.rand() ** 2 * xs.length)]!;
  }
  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(this.rand() * 10);
    return s;
  }
  family(): string {
    return this.pick(ROOT) + this.pick(SYL) + (this.rand() < 0.5 ? this.pick(SYL) : '');
  }
  address(): Pick<Person, 'number' | 'street' | 'unit' | 'city' | 'state' | 'zip'> {
    return {
      number: String(1 + Math.floor(this.rand() * 9999)),
      street: [this.pick(STREET) + (this.rand() < 0.5 ? ` ${this.pick(SYL)}` : ''), this.pick(TYPES)[0]],
      unit: this.rand() < 0.25 ? `${1 + Math.floor(this.rand() * 30)}${'abcd'[Math.floor(this.rand() * 4)]}` : '',
      city: this.pick(CITIES),
      state: this.pick(STATES),
      zip: this.digits(5),
    };
  }
  household(): Person[] {
    const size = 1 + Math.floor(this.rand() ** 2 * 4);
    const family = this.family();
    const address = this.address();
    const phone = `${2 + Math.floor(this.rand() * 8)}${this.digits(9)}`;
    return Array.from({ length: size }, () => {
      const given = this.pick(GIVEN);
      const year = 1930 + Math.floor(this.rand() * 75);
      const dob =
        `${year}-${String(1 + Math.floor(this.rand() * 12)).padStart(2, '0')}-` +
        `${String(1 + Math.floor(this.rand() * 28)).padStart(2, '0')}`;
      return {
        given,
        family,
        dob,
        email: `${given}.${family}${this.rand() < 0.5 ? this.digits(2) : ''}@${this.pick(DOMAINS)}`,
        phone: this.rand() < 0.5 ? phone : `${2 + Math.floor(this.rand() * 8)}${this.digits(9)}`,
        ...address,
      };
    });
  }
  typo(s: string): string {
    if (s.length < 3) return s;
    const i = 1 + Math.floor(this.rand() * (s.length - 2));
    const r = this.rand();
    const letter = 'abcdefghijklmnopqrstuvwxyz'[Math.floor(this.rand() * 26)]!;
    if (r < 0.3) return s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2);
    if (r < 0.6) return s.slice(0, i) + letter + s.slice(i + 1);
    if (r < 0.8) return s.slice(0, i) + s.slice(i + 1);
    return s.slice(0, i) + letter + s.slice(i);
  }
  corrupt(p: Person): Person {
    const q = { ...p };
    const r = (): number => this.rand();
    if (r() < 0.2) q.given = this.typo(q.given);
    else if (r() < 0.2 && NICK[q.given]) q.given = NICK[q.given]!;
    if (r() < 0.2) q.family = this.typo(q.family);
    if (r() < 0.15) Object.assign(q, this.address());
    if (r() < 0.05) q.dob = `${q.dob.slice(0, 5)}${q.dob.slice(8, 10)}-${q.dob.slice(5, 7)}`;
    else if (r() < 0.05) q.dob = this.typo(q.dob);
    if (r() < 0.1) q.email = '';
    if (r() < 0.1) q.phone = '';
    if (r() < 0.05) q.dob = '';
    return q;
  }
  render(p: Person, variant: boolean): PersonInput {
    const r = (): number => this.rand();
    const [name, full] = p.street;
    const type = variant && r() < 0.5 ? (TYPES.find((t) => t[0] === full)?.[1] ?? full) : full;
    const unit =
      p.unit === ''
        ? ''
        : variant
          ? this.pick([
              `Apt ${p.unit}`,
              `#${p.unit}`,
              `Apartment ${p.unit.replace(/(\d+)(\D)/, '$1-$2')}`,
              `Unit ${p.unit}`,
            ])
          : `Apt ${p.unit}`;
    const email =
      variant && p.email.endsWith('@gmail.com') && r() < 0.3
        ? p.email.replace('.', '').replace('@', '+shop@')
        : p.email;
    const phone =
      p.phone === ''
        ? ''
        : variant
          ? this.pick([
              `(${p.phone.slice(0, 3)}) ${p.phone.slice(3, 6)}-${p.phone.slice(6)}`,
              `${p.phone.slice(0, 3)}.${p.phone.slice(3, 6)}.${p.phone.slice(6)}`,
              `+1 ${p.phone}`,
              p.phone,
            ])
          : p.phone;
    return {
      given_name: variant && r() < 0.3 ? p.given.toUpperCase() : p.given,
      family_name: p.family,
      date_of_birth: p.dob,
      email,
      phone,
      address_line1: `${p.number} ${name} ${type}`,
      address_line2: unit,
      city: p.city,
      region: p.state,
      postal_code: p.zip,
    };
  }
}
