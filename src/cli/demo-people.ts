/** The demo's customers: what the CRM has, and what checkout validates. */
export interface DemoPerson {
  email: string;
  first_name: string;
  last_name: string;
  in_crm: boolean;
  crm: Record<string, string>;
  checkout: { address1: string; address2?: string | null; city: string; province_code: string; zip: string };
  /** A later order to the same delivery point, spelled differently: must not be written again. */
  respelled?: DemoPerson['checkout'];
}

const person = (
  email: string,
  first: string,
  last: string,
  crm: [string, string, string, string],
  checkout: DemoPerson['checkout'],
  extra: Partial<DemoPerson> = {},
): DemoPerson => ({
  email,
  first_name: first,
  last_name: last,
  in_crm: true,
  crm: {
    email,
    firstname: first,
    lastname: last,
    address: crm[0],
    city: crm[1],
    state: crm[2],
    zip: crm[3],
    country: 'US',
  },
  checkout,
  ...extra,
});

export const DEMO_PEOPLE: DemoPerson[] = [
  // Moved: checkout validated a new delivery point; the CRM still has the old one.
  person(
    'maria.garcia@example.com',
    'Maria',
    'Garcia',
    ['14 Elm St', 'Springfield', 'IL', '62701'],
    { address1: '2200 North Lincoln Avenue', address2: 'Apt 4B', city: 'Chicago', province_code: 'IL', zip: '60614' },
    {
      respelled: {
        address1: '2200 N. Lincoln Ave',
        address2: 'Apartment 4-B',
        city: 'Chicago',
        province_code: 'IL',
        zip: '60614-1234',
      },
    },
  ),
  person('james.chen@example.com', 'James', 'Chen', ['88 Harbor Rd', 'Boston', 'MA', '02110'], {
    address1: '17 Beacon Street',
    address2: 'Unit 3',
    city: 'Boston',
    province_code: 'MA',
    zip: '02108',
  }),
  // Checkout corrected a typo'd house number and added the missing apartment.
  person('aisha.johnson@example.com', 'Aisha', 'Johnson', ['501 W 5th St', 'Austin', 'TX', '78701'], {
    address1: '510 West 5th Street',
    address2: 'Suite 200',
    city: 'Austin',
    province_code: 'TX',
    zip: '78701',
  }),
  person('liam.oconnor@example.com', 'Liam', "O'Connor", ['9 Pine Ct', 'Denver', 'CO', '80202'], {
    address1: '9 Pine Court',
    address2: 'Apartment 12',
    city: 'Denver',
    province_code: 'CO',
    zip: '80202-1234',
  }),
  // The CRM's spelling differs from checkout's; Hearth has not seen the CRM record yet, so the
  // validated spelling is written once (after 'hearth sync pull' it would be recognised as equal).
  person('sofia.rossi@example.com', 'Sofia', 'Rossi', ['1200 N Main St Apt 4B', 'Phoenix', 'AZ', '85004'], {
    address1: '1200 North Main Street',
    address2: 'Apartment 4-B',
    city: 'Phoenix',
    province_code: 'AZ',
    zip: '85004-1111',
  }),
  person('noah.williams@example.com', 'Noah', 'Williams', ['77 Sunset Blvd', 'Los Angeles', 'CA', '90028'], {
    address1: '77 Sunset Boulevard',
    city: 'Los Angeles',
    province_code: 'CA',
    zip: '90028',
  }),
  // Moved within the same building.
  person(
    'emma.brown@example.com',
    'Emma',
    'Brown',
    ['350 5th Ave Apt 12A', 'New York', 'NY', '10118'],
    { address1: '350 Fifth Avenue', address2: 'Apt 14C', city: 'New York', province_code: 'NY', zip: '10118' },
    { respelled: { address1: '350 5th Ave', address2: '#14C', city: 'New York', province_code: 'NY', zip: '10118' } },
  ),
  // Ordered, but not in the CRM at all: the write-back has nowhere to go and is a dead letter.
  person(
    'new.customer@example.com',
    'Ola',
    'Nordmann',
    ['', '', '', ''],
    { address1: '1 Market St', city: 'San Francisco', province_code: 'CA', zip: '94105' },
    { in_crm: false },
  ),
];
