// Memorable run names ("brave-otter"), as Prefect users know them; uniqueness comes from the id.
const ADJECTIVES = ["amber", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "daring", "eager", "fancy", "gentle", "golden", "happy", "jolly", "keen", "lively", "lucky", "mellow", "nimble", "noble", "proud", "quick", "quiet", "rapid", "shiny", "silver", "smart", "steady", "sunny", "swift", "tidy", "vivid", "witty", "zesty"];
const ANIMALS = ["otter", "falcon", "lynx", "heron", "badger", "beaver", "bison", "condor", "coyote", "dolphin", "eagle", "ferret", "gecko", "ibex", "jaguar", "koala", "lemur", "marten", "narwhal", "ocelot", "panda", "puffin", "quokka", "raven", "salmon", "tapir", "toucan", "walrus", "wombat", "yak", "zebra"];

export function generateRunName(random: () => number = Math.random): string {
  const pick = (list: string[]) => list[Math.floor(random() * list.length)] ?? list[0]!;
  return `${pick(ADJECTIVES)}-${pick(ANIMALS)}`;
}
