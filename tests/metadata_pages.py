"""Test-written scraped pages in many site styles, with the title, date and author a reader sees on each.

The dev set for qa.reading.metadata: tests/test_metadata.py checks every shape and benchmarks/metadata.py reports
the accuracy. Each page is copied text as a browser's "select all" gives it: navigation, labels, the
headline, a byline and date block in the site's own order, captions and credits, the article, related lists.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """A scraped page and what its metadata should be (published as an ISO date, '' when the page gives none)."""

    name: str
    style: str
    text: str
    title: str
    published: str
    author: str
    article: tuple[str, ...] = ()  # lines of the article's own prose that must stay in the text


PAGES: list[Page] = [
    Page(
        "wire-agency",
        "news agency: promo lines in the navigation, two names, a date with time zone and a relative update",
        """Skip to main content
Exclusive news, data and analytics for financial market professionals
Learn more about Refinitiv
World
Business
Markets
Chile's copper output falls for a third month as rains hit mines
By Fabian Cambero and Natalia Ramos
March 31, 2026 9:05 AM GMT-3 Updated 4 hours ago
3 minute read
Item 1 of 2 A worker walks at the Escondida copper mine near Antofagasta, Chile, January 12, 2026. REUTERS/Rodrigo Garrido/File Photo
[1/2] A worker walks at the Escondida copper mine. REUTERS/Rodrigo Garrido Purchase Licensing Rights, opens new tab
SANTIAGO, March 31 (Reuters) - Copper production in Chile, the world's largest producer, fell 4.1% in February from a year earlier, the national statistics agency said on Tuesday.
Heavy rains in the Atacama region forced two large mines to halt work for several days.
"The weather was the main factor," an official at the agency said.
Reporting by Fabian Cambero; Editing by Aurora Ellis
Read Next
Gold hits record as dollar slides
2 hours ago""",
        "Chile's copper output falls for a third month as rains hit mines",
        "2026-03-31",
        "Fabian Cambero and Natalia Ramos",
        ("Heavy rains in the Atacama region forced two large mines to halt work for several days.",),
    ),
    Page(
        "agency-dateline-only",
        "news agency without a date line: the date is the dateline's, the year from a caption",
        """Skip to main content
Sign In
Register
Europe
Norway's wealth fund returns 9% as tech stocks rally
By Gwladys Fouche
2 minute read
Item 1 of 1 The logo of Norges Bank is seen in Oslo, Norway, February 5, 2026. REUTERS/Stine Jacobsen
OSLO, Aug 14 (Reuters) - Norway's $1.9 trillion sovereign wealth fund, the world's largest, returned 9.1% in the first half of the year, it said on Thursday.
Technology stocks accounted for most of the gain.
The fund owns about 1.5% of all listed shares globally.
Reporting by Gwladys Fouche; editing by Terje Solsvik""",
        "Norway's wealth fund returns 9% as tech stocks rally",
        "2026-08-14",
        "Gwladys Fouche",
    ),
    Page(
        "ap-style",
        "American news agency: section label in capitals, upper-case names, 'Updated' time before the date",
        """Skip to main content
AP
Top Stories
Topics
Sections
WORLD NEWS
Volcano erupts in Iceland for the ninth time since 2023, forcing evacuations
By EGILL BJARNASON and JILL LAWLESS
Updated 7:14 PM GMT, April 2, 2026
Share
FILE - Lava flows from a fissure near Grindavik, Iceland, Dec. 19, 2025. (AP Photo/Marco di Marco, File)
REYKJAVIK, Iceland (AP) — A volcano in southwestern Iceland erupted on Thursday for the ninth time in three years, spewing lava into the air and forcing the evacuation of the Blue Lagoon spa.
The eruption began shortly after 6 p.m. local time, the Icelandic Meteorological Office said.
Residents of Grindavik were evacuated last year and few have returned.
Copyright 2026 The Associated Press. All rights reserved. This material may not be published, broadcast, rewritten or redistributed.""",
        "Volcano erupts in Iceland for the ninth time since 2023, forcing evacuations",
        "2026-04-02",
        "Egill Bjarnason and Jill Lawless",
    ),
    Page(
        "british-broadcaster",
        "British broadcaster: headline, 'Published' date, a name and a bureau line, an image caption",
        """Skip to content
British Broadcasting Corporation
Home
News
Sport
Weather
Wales
Welsh farmers protest over new tree-planting rules
Published
12 March 2026
Share
Save
Huw Thomas
BBC News, Cardiff
Image source, Getty Images
Image caption, Hundreds of tractors blocked roads around the Senedd
Hundreds of farmers drove tractors to Cardiff Bay on Thursday to protest against rules that would make them plant trees on a tenth of their land.
The Welsh government said the scheme was needed to meet climate targets.
Farmers' unions said it would cost thousands of jobs.
Related topics
Farming
Welsh government""",
        "Welsh farmers protest over new tree-planting rules",
        "2026-03-12",
        "Huw Thomas",
    ),
    Page(
        "british-paper-standfirst",
        "British paper: section labels, headline, standfirst, caption with credit, name with a role, short date",
        """Skip to main content
Skip to navigation
Print subscriptions
Sign in
Search jobs
UK
World
Climate crisis
Environment
Wildlife
Wild beavers to be released in England for the first time in 400 years
Government grants licences for releases in four river catchments, saying beavers will reduce flooding
A beaver at a wildlife park in Devon. Photograph: Ben Birchall/PA
Helena Horton Environment reporter
Fri 27 Feb 2026 18.30 GMT
Wild beavers will be released into English rivers for the first time in four centuries after the government granted the first licences on Friday.
The animals were hunted to extinction in Britain in the 16th century for their fur, meat and scent glands.
Conservationists welcomed the decision.
Explore more on these topics
Wildlife
Animals
Most viewed""",
        "Wild beavers to be released in England for the first time in 400 years",
        "2026-02-27",
        "Helena Horton",
        ("Conservationists welcomed the decision.",),
    ),
    Page(
        "american-paper-three-names",
        "American paper: a standfirst sentence, three names, 'Reporting from', date and 'Updated' lines",
        """Skip to content
Skip to site index
Politics
Senate Passes Sweeping Bill to Rebuild Nation's Bridges
The measure, which passed 71 to 28, would spend $300 billion over eight years on roads, bridges and ports.
By Emily Cochrane, Luke Broadwater and Catie Edmondson
Reporting from Washington
May 6, 2026
Updated 9:41 p.m. ET
The Senate on Wednesday passed a $300 billion bill to repair the nation's crumbling bridges and roads, sending the measure to the House.
Eighteen Republicans joined all Democrats in voting for it.
The House is expected to take it up next month.""",
        "Senate Passes Sweeping Bill to Rebuild Nation's Bridges",
        "2026-05-06",
        "Emily Cochrane, Luke Broadwater and Catie Edmondson",
        ("The measure, which passed 71 to 28, would spend $300 billion over eight years on roads, bridges and ports.",),
    ),
    Page(
        "us-local-paper",
        "American local paper: section label, byline, publisher line, 'Updated' date with weekday and dots",
        """Skip to main content
SUBSCRIBE NOW: $1 for 6 months
Log in
LOCAL NEWS
City council votes to keep library branches open on Sundays
By Marisol Vega
The Columbian
Updated Thu., Oct. 8, 2026 at 6:45 p.m.
VANCOUVER, Wash. - The Vancouver City Council voted 5-2 on Wednesday night to keep all three library branches open on Sundays through next year.
The decision reverses a plan to close two branches on weekends to save money.
Library staff said Sunday visits had doubled since 2024.
Most Read
Man arrested after crash on Interstate 5""",
        "City council votes to keep library branches open on Sundays",
        "2026-10-08",
        "Marisol Vega",
    ),
    Page(
        "us-broadcaster",
        "American broadcaster: byline with the network, read time, 'Updated' line with weekday, caption",
        """Live TV
Audio
Markets
Weather
Politics
Supreme Court hears case on state bans of ranked-choice voting
By Tierney Sneed and John Fritze, CNN
4 minute read
Updated 5:12 PM EST, Tue January 20, 2026
Link Copied!
The Supreme Court building in Washington, DC, on January 9, 2026.
Washington CNN — The Supreme Court on Tuesday heard arguments over whether states may ban ranked-choice voting in federal elections.
Several justices appeared skeptical of the challengers' arguments.
A decision is expected by the end of June.""",
        "Supreme Court hears case on state bans of ranked-choice voting",
        "2026-01-20",
        "Tierney Sneed and John Fritze, CNN",
    ),
    Page(
        "local-tv-station",
        "American local TV station: 'Author:' with the station, 'Published:' and 'Updated:' lines",
        """WEATHER ALERT
Winter storm warning in effect until 6 AM
Watch Live
News
Crews battle icy roads as storm drops a foot of snow on the Twin Cities
Author: Samantha Fischer (KARE 11)
Published: 6:45 PM CST February 9, 2026
Updated: 10:02 PM CST February 9, 2026
MINNEAPOLIS — Snowplow crews worked through the night on Monday after a storm dropped up to 13 inches of snow across the Twin Cities.
The State Patrol reported more than 300 crashes since the morning.
Schools in several districts will open two hours late on Tuesday.""",
        "Crews battle icy roads as storm drops a foot of snow on the Twin Cities",
        "2026-02-09",
        "Samantha Fischer",
    ),
    Page(
        "british-tabloid",
        "British tabloid: long headline with a quote, summary bullets, upper-case byline 'FOR MAILONLINE', "
        "'Published: … | Updated: …'",
        """Home
News
Royals
Sport
Showbiz
Football star opens cafe in his home village to help young people find work: 'I wanted to give something back'
Former England midfielder, 34, employs six teenagers at the cafe
He said the idea came from his own struggle to find a job at 16
By JAMES TOZER FOR MAILONLINE
Published: 10:42 GMT, 12 September 2026 | Updated: 14:05 GMT, 12 September 2026
A former England footballer has opened a cafe in the Yorkshire village where he grew up, employing teenagers who have struggled to find work.
The cafe opened on Saturday to a queue that stretched down the high street.
Share or comment on this article:""",
        "Football star opens cafe in his home village to help young people find work: 'I wanted to give something back'",
        "2026-09-12",
        "James Tozer",
    ),
    Page(
        "magazine-question-headline",
        "magazine: a question as headline, a standfirst sentence, illustration credit, date with time",
        """Sections
Ideas
Science
Culture
Is the Four-Day Week Finally Going Mainstream?
Companies that tried it say productivity held up. The hard part is everything else.
By Derek Thompson
Illustration by Ben Kothe / The Atlantic
June 3, 2026, 6 AM ET
Share
Save
When a group of British companies tried a four-day week in 2022, most of them never went back.
Three years later, the idea has spread to America.
The results are mixed.""",
        "Is the Four-Day Week Finally Going Mainstream?",
        "2026-06-03",
        "Derek Thompson",
    ),
    Page(
        "blog-posted-by",
        "blog: site name and menu, 'Posted on … by …' in one line, share buttons and a comment prompt",
        """Notes from the Allotment
Home
About
Contact
Why my tomatoes split after the heatwave
Posted on July 22, 2026 by Margaret Ellis
Leave a comment
After three weeks without rain, the storm on Sunday night split almost every ripe tomato in the greenhouse.
The skins cannot stretch fast enough when the plant suddenly takes up water.
Next year I will water little and often.
Share this:
Twitter
Facebook
Like this:
Related""",
        "Why my tomatoes split after the heatwave",
        "2026-07-22",
        "Margaret Ellis",
    ),
    Page(
        "newsletter-byline-above",
        "newsletter or blog export: the author and date above the headline, a subtitle below",
        """The Weekly Ledger
Subscribe
Sign in
Priya Raman
Nov 3, 2026
Central banks are quietly buying gold again
Why reserve managers are moving away from the dollar, and what it means for you
Central banks bought more than 1,000 tonnes of gold last year for the third year in a row.
Most of the buying came from emerging economies.
The trend shows no sign of slowing.""",
        "Central banks are quietly buying gold again",
        "2026-11-03",
        "Priya Raman",
    ),
    Page(
        "text-first-line-title",
        "a saved text file whose first line is the page title with the site's name, then the page",
        """Storm Eunice: trains cancelled across southern England | Evening Standard
Skip to main content
Menu
News
London
Transport
Storm Eunice: trains cancelled across southern England
Rail operators cancelled hundreds of services on Friday as winds of up to 90mph hit the south coast.
Network Rail said fallen trees had blocked lines in Kent and Sussex.
Passengers were told not to travel.""",
        "Storm Eunice: trains cancelled across southern England",
        "",
        "",
    ),
    Page(
        "text-file-plain",
        "a plain text file: a title on the first line, a date line, the article",
        """Harbour ferry returns after two-year repairs
14 April 2026
The harbour ferry returned to service on Monday after two years of repairs to its hull and engines.
The council spent 1.2 million pounds on the work.
Tickets cost the same as before.""",
        "Harbour ferry returns after two-year repairs",
        "2026-04-14",
        "",
    ),
    Page(
        "sports-caption-above-byline",
        "sports site: a caption without a credit between the headline and the byline",
        """Football
Women's Super League
Lionesses reach Euro 2026 final after extra-time win over Spain
Maisie Holt celebrates her 112th-minute winner at Wembley
By Mark Ellis
Sun 26 Jul 2026 21.30 BST
England reached the final of the European Championship with a 2-1 win over Spain after extra time at Wembley on Sunday.
Holt's header settled a tense semi-final in front of 87,000 fans.
England play Germany in the final.""",
        "Lionesses reach Euro 2026 final after extra-time win over Spain",
        "2026-07-26",
        "Mark Ellis",
    ),
    Page(
        "news-site-kicker-and-question",
        "news site: a short topic label above a headline that ends in a question mark",
        """Menu
Search
Nordic politics
Iceland election
Can Iceland's new prime minister fix the housing crisis?
By Anna Sigurdardottir
Published 1 December 2026
Iceland's new prime minister promised on Monday to build 20,000 homes in four years.
Rents in Reykjavik have risen by half since 2020.
Critics said the plan lacked funding.""",
        "Can Iceland's new prime minister fix the housing crisis?",
        "2026-12-01",
        "Anna Sigurdardottir",
    ),
    Page(
        "middle-east-broadcaster",
        "international broadcaster: standfirst sentence, two names, 'Published On' date",
        """Skip links
Skip to Content
Live
News
Middle East
Jordan reopens border crossing with Syria after two-year closure
The Jaber-Nassib crossing is a key trade route between the Gulf and Europe.
By Zeina Khodr and Hamza Mohamed
Published On 18 Jan 2026
18 Jan 2026
Jordan reopened its main border crossing with Syria on Sunday, two years after it was closed because of fighting nearby.
Trucks carrying fruit and vegetables were the first to cross.
Traders said they expected traffic to return to normal within weeks.""",
        "Jordan reopens border crossing with Syria after two-year closure",
        "2026-01-18",
        "Zeina Khodr and Hamza Mohamed",
    ),
    Page(
        "australian-broadcaster",
        "Australian broadcaster: name with a role line, 'Posted … , updated …' date line",
        """ABC News
Just In
Politics
World
Sydney Harbour Bridge to get new lighting for its centenary
Sarah Collins
Arts reporter
Posted Thu 5 Nov 2026 at 6:32am, updated Thu 5 Nov 2026 at 9:15am
The Sydney Harbour Bridge will be lit with a new LED system in time for its 100th birthday in 2032, the NSW government says.
The project will cost $45 million.
Work starts next year.""",
        "Sydney Harbour Bridge to get new lighting for its centenary",
        "2026-11-05",
        "Sarah Collins",
    ),
    Page(
        "politics-site-numeric-date",
        "American politics site: upper-case byline, a numeric date with an American time zone",
        """Skip to Main Content
Congress
White House
Newsletters
House panel subpoenas drug makers over insulin prices
By MEGAN WILSON
03/04/2026 06:45 PM EST
A House committee on Wednesday subpoenaed three drug makers for records on how they set the price of insulin.
The companies said they would cooperate.
The committee's chair called the prices indefensible.""",
        "House panel subpoenas drug makers over insulin prices",
        "2026-03-04",
        "Megan Wilson",
    ),
    Page(
        "tech-site-lowercase-by",
        "tech site: section, headline, a subtitle, 'by' in lower case with a date on one line",
        """The Verge homepage
Tech
Reviews
Science
Apple's new headphones can translate conversations in real time
The feature works offline in nine languages
by Chris Welch | Sep 9, 2026, 1:30 PM EDT
Apple's new AirPods can translate a conversation as it happens, the company said on Tuesday.
The feature works without an internet connection.
It will be available in nine languages at launch.""",
        "Apple's new headphones can translate conversations in real time",
        "2026-09-09",
        "Chris Welch",
    ),
    Page(
        "guardian-style-in-place",
        "British paper: two names each 'in' a city, 'Last modified' date line after the date",
        """Skip to main content
Support the Guardian
Fund independent journalism with $15 per month
Support us
News
Opinion
Sport
Ukraine
Zelensky and Putin agree to prisoner exchange after talks in Istanbul
Shaun Walker in Kyiv and Pjotr Sauer in Moscow
Wed 14 Oct 2026 17.45 CEST
Last modified on Wed 14 Oct 2026 19.02 CEST
Ukraine and Russia agreed on Wednesday to exchange 1,000 prisoners each after the first direct talks between their delegations in months.
The exchange will take place over the coming week, officials said.
Both sides said no progress was made on a ceasefire.""",
        "Zelensky and Putin agree to prisoner exchange after talks in Istanbul",
        "2026-10-14",
        "Shaun Walker and Pjotr Sauer",
    ),
]

# Written after the rules above passed, and measured once before any change for them (see docs/CLEANING.md).
PAGES += [
    Page(
        "business-magazine-bio",
        "business magazine: name, a staff label, a one-line bio sentence, a follow button, two dated lines",
        """Forbes
Billionaires
Innovation
Leadership
Money
Retail chain to close 200 stores as online sales surge
Jane Whitford
Forbes Staff
Jane covers retail and consumer brands for Forbes.
Follow
Mar 12, 2026, 06:45am EDT
Updated Mar 12, 2026, 09:00am EDT
The discount retailer said on Thursday it would close 200 of its 1,100 stores by the end of the year as more shoppers buy online.
About 4,000 jobs will go.
The company's shares rose 6% on the news.""",
        "Retail chain to close 200 stores as online sales surge",
        "2026-03-12",
        "Jane Whitford",
    ),
    Page(
        "uk-paper-role-line",
        "British paper: standfirst, name, a role line, a full weekday and a time, a comments button",
        """Independent
News
UK
Politics
Ministers to scrap tuition fees for nursing students
Move aims to fill 40,000 vacancies across the NHS
Holly Bancroft
Social Affairs Correspondent
Thursday 12 March 2026 10:42 GMT
Comments
Nursing students in England will no longer pay tuition fees from September, the health secretary announced on Thursday.
The scheme will cost an estimated 900 million pounds a year.
Unions welcomed the move but said pay was still too low.""",
        "Ministers to scrap tuition fees for nursing students",
        "2026-03-12",
        "Holly Bancroft",
    ),
    Page(
        "broadcaster-handle-in-role",
        "British broadcaster: standfirst sentence, a name, a role with a handle, a date with ', UK'",
        """Sky News
Home
UK
Politics
Hundreds of schools to close early as heatwave continues
Temperatures are expected to reach 35C in parts of southern England on Friday.
Tom Acres
Science and technology reporter @tomacres
Thursday 16 July 2026 11:20, UK
Hundreds of schools across southern England will close early on Friday as temperatures climb towards 35C.
The Met Office has issued an amber warning for extreme heat.
Parents were told to keep children indoors in the afternoon.""",
        "Hundreds of schools to close early as heatwave continues",
        "2026-07-16",
        "Tom Acres",
    ),
    Page(
        "uk-regional-glued-by",
        "British regional paper: 'ByName' glued, a role line, time before a capitalised date",
        """Manchester Evening News
News
Greater Manchester News
Tram line to airport to be extended to new terminal
The extension will open in 2028
ByJessica Lane
News Reporter
10:42, 12 MAR 2026
Updated 14:05, 12 MAR 2026
The Metrolink line to Manchester Airport will be extended to serve the new Terminal 4, transport bosses have confirmed.
Work will start next spring and cost 95 million pounds.
The airport expects 40 million passengers a year by 2030.""",
        "Tram line to airport to be extended to new terminal",
        "2026-03-12",
        "Jessica Lane",
    ),
    Page(
        "syndicated-portal",
        "news portal: syndicated story with a name, a weekday-comma date, read time",
        """Yahoo News
Home
US
World
Politics
Wildfire forces thousands to flee homes in Southern California
Daniel Ortiz
Thu, March 12, 2026 at 6:45 PM EDT
3 min read
A fast-moving wildfire in Ventura County forced more than 8,000 people to leave their homes on Thursday, fire officials said.
The fire has burned 12,000 acres and is 5% contained.
Strong winds are expected to continue overnight.""",
        "Wildfire forces thousands to flee homes in Southern California",
        "2026-03-12",
        "Daniel Ortiz",
    ),
    Page(
        "science-news-provided-by",
        "science news site: 'by' an institution, an image credit, 'Provided by' at the end",
        """Phys.org
Topics
Week's top
Latest news
Ancient forest found beneath Antarctic ice sheet
by University of Leeds
Credit: Pixabay/CC0 Public Domain
Scientists have found the remains of a forest that grew in Antarctica about 90 million years ago, under 900 metres of ice.
The discovery shows that the continent once had a warm, wet climate.
Provided by University of Leeds""",
        "Ancient forest found beneath Antarctic ice sheet",
        "",
        "University of Leeds",
    ),
    Page(
        "newsletter-counts",
        "newsletter platform: title, subtitle, name, date, like and comment counts, share",
        """The Climate Brief
Subscribe
Sign in
Why batteries are replacing gas plants faster than expected
Prices fell by half in two years, and grid operators took notice
Maya Lindqvist
Mar 12, 2026
42
7
Share
Grid-scale batteries are now cheaper to build than gas peaker plants in most of the United States.
That has changed how utilities plan for summer demand.
Texas and California lead the way.""",
        "Why batteries are replacing gas plants faster than expected",
        "2026-03-12",
        "Maya Lindqvist",
    ),
    Page(
        "international-broadcaster-numeric",
        "international broadcaster: standfirst sentence, a name, a numeric date, then a written one",
        """DW
Skip to content
Topics
Germany
Germany to phase out coal by 2035, three years early
Berlin and the coal regions agreed on a new timetable after months of talks.
Ben Knight
03/12/2026
March 12, 2026
Germany will stop burning coal for electricity by 2035, three years earlier than planned, the economy ministry said on Thursday.
The regions will receive 10 billion euros in aid.
Environmental groups said the date was still too late.""",
        "Germany to phase out coal by 2035, three years early",
        "2026-03-12",
        "Ben Knight",
    ),
    Page(
        "no-byline-caption-above-lede",
        "news site without a byline or date: a caption line without a full stop between headline and article",
        """Home
World
Europe
Greek firefighters battle wildfire near Athens for third day
Firefighters tackle the blaze in the suburb of Varnavas on Monday
ATHENS, Greece — Firefighters battled a wildfire north of Athens for a third day on Tuesday as strong winds fanned the flames.
Hundreds of homes have been evacuated.
Officials said the fire was now moving away from the city.""",
        "Greek firefighters battle wildfire near Athens for third day",
        "",
        "",
    ),
    Page(
        "caps-headline-top-date",
        "local paper: today's date in the top bar, a headline in capitals, byline and role on two lines",
        """Thursday, March 12, 2026
Today's Paper
Subscribe
SCHOOL BOARD APPROVES NEW START TIMES FOR HIGH SCHOOLS
By Kevin Marsh
Staff Writer
The school board voted 6-1 on Wednesday to start high school classes an hour later from next fall.
The change follows research showing that teenagers learn better later in the day.
Bus routes will be redrawn over the summer.""",
        "SCHOOL BOARD APPROVES NEW START TIMES FOR HIGH SCHOOLS",
        "2026-03-12",
        "Kevin Marsh",
    ),
    Page(
        "british-paper-date-and-outlet",
        "British paper: a name with a role after a comma, a date line ending with the paper's name",
        """The Times
Home
News
Politics
Chancellor rules out income tax rise in spring statement
Treasury says borrowing will fall faster than forecast
Oliver Wright, Policy Editor
Thursday March 12 2026, 6.00pm GMT, The Times
The chancellor has ruled out raising income tax in next week's spring statement.
Treasury officials said borrowing was on course to fall faster than expected.
Labour MPs welcomed the news.""",
        "Chancellor rules out income tax rise in spring statement",
        "2026-03-12",
        "Oliver Wright",
    ),
    Page(
        "blog-relative-date",
        "blog page: 'Written by' on its own line, only a relative date, a 'Listen' button",
        """Field Notes
Home
Archive
How we rebuilt our search engine in a weekend
Listen to this article
Written by Sam Okafor
3 hours ago
Last week our search engine fell over during a traffic spike, so we rebuilt it from scratch.
This post explains what we changed.
The new version handles ten times the load.""",
        "How we rebuilt our search engine in a weekend",
        "",
        "Sam Okafor",
    ),
]

# A third set, for the rules added after the second: addresses, "By" alone, markdown, a hero caption,
# partial dates and years from the page.
PAGES += [
    Page(
        "saved-with-address",
        "a page saved with its address on the first line, 'By' on a line of its own, no date in the text",
        """https://www.northernecho.example/news/2026/04/21/darlington-station-upgrade/
Northern Echo
News
Darlington station upgrade to finish a year late
By
Rachel Moore
Network Rail said the 130 million pound upgrade of Darlington station would now be finished in 2028.
Delays in delivering new signalling equipment were to blame.
Passengers will see more trains from 2029.""",
        "Darlington station upgrade to finish a year late",
        "2026-04-21",
        "Rachel Moore",
    ),
    Page(
        "hero-caption-above-headline",
        "sports page: the lead photo's caption (no credit) above the headline",
        """Sport
Tennis
Emma Raducanu celebrates after winning match point on Centre Court
Raducanu battles past Keys to reach Wimbledon quarter-finals
By Simon Briggs
7 July 2026
Emma Raducanu reached the Wimbledon quarter-finals for the first time on Monday with a three-set win over Madison Keys.
The British number one came from a set down.
She will play the top seed next.""",
        "Raducanu battles past Keys to reach Wimbledon quarter-finals",
        "2026-07-07",
        "Simon Briggs",
    ),
    Page(
        "markdown-export",
        "a read-later app's markdown export: heading, bold byline, italic date",
        """# Inside the race to build the first commercial fusion plant

**By Ada Brennan**

*April 28, 2026*

Three start-ups say they will put electricity from fusion on the grid before 2035.

Investors have poured more than 6 billion dollars into the field since 2021.

Physicists are not so sure.""",
        "Inside the race to build the first commercial fusion plant",
        "2026-04-28",
        "Ada Brennan",
    ),
    Page(
        "us-paper-no-year",
        "American paper: an 'Updated' date without the year, the year from the copyright line",
        """Sections
Local
Bridge on Route 9 to close for six weeks of repairs
By Luis Alvarado
Updated March 12 at 6:45 p.m.
The state transportation department will close the Route 9 bridge over the Hudson River for six weeks starting Monday.
Detours will add about 20 minutes to commutes.
Local businesses said they feared losing customers.
© 2026 Hudson Valley Media""",
        "Bridge on Route 9 to close for six weeks of repairs",
        "2026-03-12",
        "Luis Alvarado",
    ),
    Page(
        "agency-year-from-article",
        "news agency: only a dateline without the year, and an article date near it: no date (an article's own "
        "dates are often years away from its own, in anniversaries and histories)",
        """Home
Markets
Oil prices slip as OPEC+ weighs output increase
2 minute read
LONDON, June 2 (Reuters) - Oil prices fell on Tuesday as investors waited for an OPEC+ meeting on June 4, 2026, that could raise output.
Brent crude futures fell 1.1% to 71.20 dollars a barrel.
The group cut output sharply in 2024.""",
        "Oil prices slip as OPEC+ weighs output increase",
        "",
        "",
    ),
    Page(
        "first-line-title-far-from-byline",
        "a text file whose first line is the title, then navigation, then the byline and date",
        """Local bakery wins national award for its sourdough
Home
News
Food
Business
By Grace Whitman
May 14, 2026
A bakery in Hebden Bridge has won the national award for the best sourdough loaf in Britain.
The owners started baking in their kitchen during the pandemic.
They now employ twelve people.""",
        "Local bakery wins national award for its sourdough",
        "2026-05-14",
        "Grace Whitman",
    ),
    Page(
        "opinion-columnist-above-headline",
        "opinion page: the columnist's name above the headline, the date below the standfirst",
        """Opinion
Columnists
Rachel Adeyemi
The four-day week is here to stay
The pandemic changed how we work, and there is no going back to the old office week
March 12, 2026
When my company switched to a four-day week two years ago, I assumed it would not last.
I was wrong.
Productivity went up and sick days went down.""",
        "The four-day week is here to stay",
        "2026-03-12",
        "Rachel Adeyemi",
    ),
    Page(
        "european-wire-numeric-24h",
        "European agency in English: a day-first numeric date with a 24-hour time",
        """AFP
World
Europe
France to ban short domestic flights where trains take under three hours
Published on 03/10/2026 - 10:42
Modified on 03/10/2026 - 12:15
Paris (AFP) – France will ban domestic flights on routes that can be covered by train in under three hours, the transport minister said on Saturday.
The ban will take effect in January.
Airlines said the measure would cost jobs.""",
        "France to ban short domestic flights where trains take under three hours",
        "2026-10-03",
        "",
    ),
]

# A fourth set, written after the third and right at its first run (no rule was changed for it).
PAGES += [
    Page(
        "financial-wire-bullets",
        "financial wire: Title Case headline, two summary bullets, two names, 'Updated on' line, gift button",
        """Bloomberg
Markets
Economics
ECB Holds Rates Steady, Signals Cuts Could Come in June
Officials keep deposit rate at 2.5% for a third meeting
Lagarde says inflation is on track to hit the 2% goal
By Jana Randow and Alexander Weber
March 12, 2026 at 1:15 PM GMT+1
Updated on March 12, 2026 at 3:40 PM GMT+1
Save
Gift this article
The European Central Bank kept interest rates unchanged for a third straight meeting and signaled that cuts could come as soon as June.
Policymakers left the deposit rate at 2.5%, as expected by economists.""",
        "ECB Holds Rates Steady, Signals Cuts Could Come in June",
        "2026-03-12",
        "Jana Randow and Alexander Weber",
    ),
    Page(
        "public-radio",
        "public radio: a show label, a bare name, a caption with 'hide caption' buttons",
        """NPR
Shows & Podcasts
Search
Scientists find water ice deposits near the moon's south pole
Heard on All Things Considered
Geoff Brumfiel
March 12, 2026 6:45 PM ET
The ice was found in craters that never see sunlight. NASA
hide caption
toggle caption
Scientists say they have found large deposits of water ice in craters near the moon's south pole.
The finding could help future astronauts.""",
        "Scientists find water ice deposits near the moon's south pole",
        "2026-03-12",
        "Geoff Brumfiel",
    ),
    Page(
        "asian-paper-published-updated",
        "Asian English-language paper: a hyphenated name, 'Published : … Updated : …' on one line",
        """The Korea Herald
National
Politics
Seoul to expand subsidies for electric buses
By Lee Ji-yoon
Published : Mar. 12, 2026 - 18:45 Updated : Mar. 12, 2026 - 18:45
Seoul will double its subsidies for electric buses next year, the city government said Thursday.
About 1,000 buses will be replaced by 2028.""",
        "Seoul to expand subsidies for electric buses",
        "2026-03-12",
        "Lee Ji-yoon",
    ),
    Page(
        "indian-paper-agency-code",
        "Indian paper: a name, the agency's code on its own line, 'Updated:' with IST",
        """Times of India
City
Mumbai News
Mumbai metro line 3 to open fully by May, says MMRC
Priya Nair
TNN
Updated: Mar 12, 2026, 18:45 IST
MUMBAI: The entire stretch of the Metro Line 3 will open to the public by May, officials of the Mumbai Metro Rail Corporation said on Thursday.
The line runs underground for 33 km.""",
        "Mumbai metro line 3 to open fully by May, says MMRC",
        "2026-03-12",
        "Priya Nair",
    ),
    Page(
        "headline-ending-in-quote",
        "agency page: a headline that ends in a quotation, a date line without time",
        """News
Zelensky on peace talks: "We will not give up our land"
By Olena Harmash
12 March 2026
KYIV (Reuters) - President Volodymyr Zelensky said on Thursday that Ukraine would not give up territory in any peace deal.
He spoke in Kyiv.""",
        'Zelensky on peace talks: "We will not give up our land"',
        "2026-03-12",
        "Olena Harmash",
    ),
]
