// A small bundled nickname table: each line is one equivalence group of English given names
// (formal name first). Kept deliberately conservative: a group only holds names that are
// commonly used for the same person, because a wrong equivalence produces false merges.
const GROUPS = `
alexander alex alec sandy xander
alexandra alex alexa sandra sandy lexi
andrew andy drew
anthony tony
barbara barb barbie babs
benjamin ben benny benji
catherine katherine kathryn cathy kathy kate katie kat cath
charles charlie chuck chas
christopher chris kit topher
christine christina chris chrissy tina
daniel dan danny
david dave davey
deborah debra debbie deb
donald don donny
dorothy dot dottie
edward ed eddie ted teddy ned
elizabeth liz lizzie beth betty betsy eliza libby lisa
emily em emmy
frances fran frankie
francis frank frankie
frederick fred freddie
gregory greg
harold harry hal
henry harry hank
isabella isabelle bella izzy
jacob jake
james jim jimmy jamie
jennifer jen jenny
jessica jess jessie
john jack johnny jon
jonathan jon jonny
joseph joe joey
joshua josh
katherine kate kathy katie kat
kenneth ken kenny
lawrence larry laurie
leonard len lenny leo
margaret maggie meg peggy marge madge greta
matthew matt
michael mike mick mikey mickey
nicholas nick nicky
pamela pam
patricia pat patty trish tricia
patrick pat paddy
peter pete
philip phillip phil
rebecca becky becca
richard rick ricky dick rich
robert rob bob bobby robbie bert
ronald ron ronnie
samuel sam sammy
samantha sam sammy
stephen steven steve stevie
susan sue susie suzy
theodore theo ted teddy
thomas tom tommy
timothy tim timmy
victoria vicky tori
william will bill billy willie liam
zachary zach zack
`;

/** name -> ids of the groups it belongs to (a nickname like `pat` belongs to several). */
export function buildNicknameIndex(): Map<string, number[]> {
  const index = new Map<string, number[]>();
  GROUPS.trim()
    .split('\n')
    .forEach((line, id) => {
      for (const name of line.trim().split(/\s+/)) {
        const ids = index.get(name) ?? [];
        if (!ids.includes(id)) ids.push(id);
        index.set(name, ids);
      }
    });
  return index;
}

/** True when two (simplified, lower-case) given names are nickname-equivalent. */
export function areNicknames(index: Map<string, number[]>, a: string, b: string): boolean {
  const ga = index.get(a);
  const gb = index.get(b);
  if (!ga || !gb) return false;
  return ga.some((id) => gb.includes(id));
}
