"""Small test-written news corpus and question sets for the answerer and UI tests (no files from outside)."""

from __future__ import annotations

from pathlib import Path

from qa.types import Article

# The seed scenario: a scraped page with clutter above and a headline list below the story.
PUTIN_PAGE = """Audio By Carbonatix
Putin rejects full ceasefire, agrees to pause energy strikes
President Vladimir Putin has rejected an immediate and full ceasefire in Ukraine, agreeing only to halt attacks on energy infrastructure for thirty days.
The Kremlin said the decision followed a long telephone call between Putin and the American president on Tuesday.
Moscow insisted that any wider truce would require an end to foreign military aid and intelligence sharing with Kyiv.
Putin argued that a full ceasefire would let Ukraine rearm and mobilise more troops along the front line.
Analysts said the limited pause on energy strikes fell far short of what Western governments had hoped for.
Latest Stories
-
Farmers protest over rising fertiliser prices in the north
2 minutes -
Local choir wins regional singing contest
5 minutes -
Heavy rains expected across the coast this weekend
12 minutes -
"""

ZELENSKY = Article(
    id="zelensky-reaction",
    title="Zelensky responds to Kremlin ceasefire offer",
    url="https://news.example.org/zelensky-reaction",
    published="2025-03-19",
    source="news.example.org",
    text=(
        "Ukrainian President Volodymyr Zelensky said on Wednesday that Putin's refusal of a full ceasefire "
        "showed that Moscow was not ready to end the war.\n"
        "Zelensky told reporters in Kyiv that Ukraine would support a pause on strikes against energy "
        "facilities if Russia kept its word.\n"
        "He said Ukrainian negotiators would meet American officials in Saudi Arabia later in the week."
    ),
)

OTHERS = [
    Article(
        id="lyon-bikes",
        title="Lyon approves forty kilometres of new bike lanes",
        published="2025-02-02",
        source="city.example.fr",
        text=(
            "The Lyon city council approved forty kilometres of protected bike lanes on Monday.\n"
            "Construction will begin in April and should be finished before the end of 2026.\n"
            "The project will cost 35 million euros, most of it paid by the regional government.\n"
            "Shop owners on the Rue de la République complained that parking spaces would disappear."
        ),
    ),
    Article(
        id="peru-frog",
        title="Biologists find a new frog species in the Peruvian Andes",
        published="2024-11-12",
        source="science.example.com",
        text=(
            "A team of biologists has discovered a new species of frog in the cloud forests of the Peruvian Andes.\n"
            "The tiny frog, named Pristimantis aurantius, is bright orange and measures less than two centimetres.\n"
            "The researchers found it at an altitude of 3,000 metres during an expedition in 2023.\n"
            "They warned that mining and deforestation threaten the frog's small habitat."
        ),
    ),
    Article(
        id="norway-rates",
        title="Norway's central bank raises interest rate",
        published="2024-12-18",
        source="markets.example.no",
        text=(
            "Norges Bank raised its key interest rate to 4.5 percent on Thursday, the highest level since 2008.\n"
            "Governor Ida Wolden Bache said inflation remained too high and the krone too weak.\n"
            "Economists had expected the bank to keep the rate unchanged until the spring."
        ),
    ),
    Article(
        id="berlin-marathon",
        title="Kenyan runner wins the Berlin marathon",
        published="2024-09-29",
        source="sport.example.de",
        text=(
            "Kenyan runner Grace Wanjiru won the Berlin marathon on Sunday in two hours and sixteen minutes.\n"
            "She broke away from the leading group after thirty kilometres and finished alone.\n"
            "Nearly 45,000 runners from 150 countries took part in this year's race."
        ),
    ),
]

# (question, a phrase the answer must contain, the article it comes from)
ANSWERABLE = [
    ("What did Putin reject?", "rejected an immediate and full ceasefire", "putin"),
    ("How long will attacks on energy infrastructure be halted?", "thirty days", "putin"),
    ("What would a wider truce require according to Moscow?", "end to foreign military aid", "putin"),
    ("How many kilometres of bike lanes did Lyon approve?", "forty kilometres", "lyon-bikes"),
    ("How much will the Lyon bike lane project cost?", "35 million euros", "lyon-bikes"),
    ("What is the name of the new frog species?", "Pristimantis aurantius", "peru-frog"),
    ("What threatens the frog's habitat?", "mining and deforestation", "peru-frog"),
    ("What interest rate did Norges Bank set?", "4.5 percent", "norway-rates"),
    ("Who won the Berlin marathon?", "Grace Wanjiru", "berlin-marathon"),
    ("How many runners took part in the Berlin marathon?", "45,000", "berlin-marathon"),
]

UNANSWERABLE = [
    "Who won the Nobel Prize in Literature?",
    "What is the population of Canada?",
    "How tall is the Eiffel Tower?",
    "What did the Pope say about climate change?",
    "When will the next iPhone be released?",
    "Who coaches the Brazilian national football team?",
]

CLUTTER = ["Audio By Carbonatix", "Latest Stories", "Farmers protest", "choir", "Heavy rains", "minutes -"]


def write_putin_page(directory: Path) -> Path:
    """The seed article as a scraped text file, the way a user would save it."""
    path = directory / "putin-ceasefire.txt"
    path.write_text(PUTIN_PAGE, encoding="utf-8")
    return path


# A second scraped page, longer, for an index of one article: casual questions and follow-ups of the seed's kinds
# ("what happened in jeddah", "whats the kremlin's key condition", "why?", "what did he say about it?").
STRIKE_PAGE = """Listen to this article
Copper miners reject wage offer, agree to lift blockade
Union leaders at the Escondida copper mine have rejected a new wage offer from the mine's owner, agreeing only to lift the road blockade that had halted shipments for nine days.
The union declined to sign the three-year contract that company negotiators had drafted with government mediators earlier in the month.
Union president Patricia Rojas said a settlement could only work if the company restored the annual productivity bonus and dropped its plan to cut 300 jobs.
The company's shareholders have previously opposed such demands.
When both sides met the mediators in Antofagasta last Thursday, they agreed to resume talks within a week and to keep the mine running at half capacity.
Labour minister Jeannette Jara said the government was ready to host further talks, but wanted both sides to show flexibility first.
"We will not let the country's biggest mine stand still while the world waits for its copper," Jara said.
The company said in a statement that restoring the bonus was impossible at current copper prices.
The union's own statement said the reinstatement of 200 dismissed workers was its key condition for any agreement.
Copper prices rose two percent in London after news of the blockade first broke.
Analysts at a Santiago bank said a long strike could cut the country's output by a tenth this quarter.
Related Posts
-
City council debates new parking fees
3 minutes -
Weather: storms expected on the coast tonight
9 minutes -
"""


def write_strike_page(directory: Path) -> Path:
    """A scraped news page (clutter above and below) as a text file."""
    path = directory / "copper-strike.txt"
    path.write_text(STRIKE_PAGE, encoding="utf-8")
    return path
