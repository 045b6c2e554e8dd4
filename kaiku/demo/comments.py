"""Comment bank for the demo: English, Finnish and Estonian, per theme and tone.

The demo company, Nordic Outfitters, sells workwear, footwear and outdoor gear
to businesses through an ordering app with free/basic/pro/enterprise plans.

Tones: "neg" (detractors, low CSAT/CES), "mid" (passives) and "pos" (promoters).
Sentences are written, not machine-translated, so that lemmatisers see real
inflection (fi: toimitus/toimituksen/toimitukset; et: tarne/tarned/tarnet) and
negations ("not easy", "ei toiminut", "ei tööta"). `{n}` is a small number
(days, seconds) filled in by the generator.
"""

from __future__ import annotations

THEMES = (
    "delivery",
    "price",
    "support",
    "quality",
    "usability",
    "billing",
    "onboarding",
    "performance",
)

Bank = dict[str, dict[str, dict[str, tuple[str, ...]]]]

BANK: Bank = {
    "en": {
        "delivery": {
            "neg": (
                "The delivery took {n} days even though express shipping was promised.",
                "Our order arrived incomplete and nobody told us the rest was back-ordered.",
                "Delivery was late again. Our crew waited on site without boots.",
                "Tracking was not updated at all, we had no idea where the parcel was.",
                "Two boxes arrived damaged and the replacement took over a week.",
                "Deliveries are unreliable lately, the promised date is never the real date.",
                "Wrong sizes were shipped and the return process is not easy.",
            ),
            "mid": (
                "Delivery is usually fine, but it could be faster.",
                "Shipping works, although the tracking could be more accurate.",
                "Orders arrive eventually, but {n} days is too long for us.",
            ),
            "pos": (
                "Fast delivery, everything arrived the next day.",
                "Orders always arrive on time and well packed.",
                "Reliable deliveries, we never have to chase an order.",
                "Love the delivery tracking, we always know when the shipment arrives.",
                "Quick shipping and hassle-free returns.",
            ),
        },
        "price": {
            "neg": (
                "Too expensive for what you get.",
                "The price went up again without any real improvement.",
                "Prices are much higher than competitors', we are looking at alternatives.",
                "The basic plan is not worth the money anymore.",
                "Shipping fees on small orders are ridiculous.",
                "Hidden costs everywhere, the final price is never what was quoted.",
            ),
            "mid": (
                "Good products, but the prices are on the high side.",
                "Fair value overall, although volume discounts could be better.",
                "The price is acceptable, not cheap though.",
            ),
            "pos": (
                "Great value for money.",
                "Fair prices, and the volume discount really helps us.",
                "Not the cheapest, but worth every euro.",
                "Transparent pricing with no surprises.",
                "The pro plan pays for itself.",
            ),
        },
        "support": {
            "neg": (
                "Customer support is slow, I waited {n} days for an answer.",
                "Nobody answers the phone and the chat is always offline.",
                "Support kept sending the same template reply without reading my question.",
                "I had to explain my problem three times to different people.",
                "Support was not helpful at all, the issue is still open.",
                "Your support team closed my ticket without solving anything.",
            ),
            "mid": (
                "Support is friendly, but it takes a while to get a reply.",
                "Support eventually solved my issue, it just took too long.",
                "The chat is helpful, phone support less so.",
            ),
            "pos": (
                "Excellent customer service, they solved my problem in minutes.",
                "The support team is friendly, quick and actually knows the products.",
                "Support went above and beyond to help us.",
                "Always a real person answering, and fast.",
                "Whenever we have a question, the chat answers right away.",
            ),
        },
        "quality": {
            "neg": (
                "The jackets started falling apart after a few washes.",
                "The seams on the work trousers tore within a month.",
                "Quality has gone down, the boots are not waterproof anymore.",
                "Sizes are inconsistent between batches.",
                "The zippers break far too easily.",
                "Poor quality for the price, the fabric pills after a couple of weeks.",
            ),
            "mid": (
                "The products are decent, but the quality varies between batches.",
                "Good quality mostly, a couple of items did not last as long as expected.",
                "Solid gear, though the sizing could be more consistent.",
            ),
            "pos": (
                "Excellent quality, the jackets last for years.",
                "The boots are comfortable and truly waterproof.",
                "Durable workwear that our team actually likes wearing.",
                "High-quality materials and a great fit.",
                "The products are top quality, exactly as described.",
            ),
        },
        "usability": {
            "neg": (
                "The ordering app is confusing, it is not easy to find anything.",
                "The app logs me out all the time.",
                "Reordering the same items should not take this many clicks.",
                "The search in the app does not work, it never finds the right product.",
                "The latest app update made everything harder to use.",
                "I can't change the delivery address in the app, that's basic stuff.",
            ),
            "mid": (
                "The app works, but the navigation could be clearer.",
                "The ordering app is okay, the search could be better.",
                "Ordering is easy enough, though the app feels dated.",
            ),
            "pos": (
                "The app is really easy to use, reordering takes seconds.",
                "Love the ordering app, clean and simple.",
                "A very intuitive app, the whole team learned it in a day.",
                "Easy to use, and the saved order lists save us a lot of time.",
                "The new app is a big improvement, everything is where you expect it.",
            ),
        },
        "billing": {
            "neg": (
                "We were charged twice this month and are still waiting for the refund.",
                "The invoices are wrong every other month.",
                "Invoices don't show the cost centre, so our accountant fixes them by hand.",
                "I cancelled an add-on but you kept billing me for it.",
                "Changing the payment method is not possible without calling support.",
            ),
            "mid": (
                "Billing is mostly fine, but the invoices could be clearer.",
                "Invoicing works, e-invoicing support would make it better.",
                "A small billing error was fixed quickly, but it should not happen.",
            ),
            "pos": (
                "Billing is clear and e-invoices arrive on time.",
                "Invoices are accurate and easy to match with orders.",
                "Simple and transparent billing.",
                "Love that invoices go straight to our accounting system.",
            ),
        },
        "onboarding": {
            "neg": (
                "Setting up our account took weeks.",
                "Onboarding was chaotic, nobody told us how to add our team.",
                "Nobody explained how the plans work when we started.",
                "The setup instructions were out of date and not easy to follow.",
                "We never got the onboarding call we were promised.",
            ),
            "mid": (
                "Getting started was okay, a short guide would have helped.",
                "Onboarding was fine, but importing our cost centres took a while.",
                "Setup took longer than expected, the people were helpful though.",
            ),
            "pos": (
                "Onboarding was smooth, we placed our first order on day one.",
                "The onboarding call was really helpful.",
                "Getting started was quick and painless.",
                "Great onboarding, our account manager set everything up for us.",
            ),
        },
        "performance": {
            "neg": (
                "The app is very slow, pages take forever to load.",
                "The web shop keeps timing out at checkout.",
                "The portal was down twice this week.",
                "Search is painfully slow when we have a big order.",
                "Every page takes {n} seconds to load, it is frustrating.",
                "The app did not work at all this morning.",
            ),
            "mid": (
                "The app is a bit slow at times, but it works.",
                "Performance is acceptable, checkout could be faster.",
                "Mostly fast, with occasional hiccups during busy hours.",
            ),
            "pos": (
                "The app is fast and never crashes.",
                "Super fast checkout.",
                "Fast and reliable, no downtime that we have noticed.",
                "Everything loads instantly, even on a phone.",
            ),
        },
    },
    "fi": {
        "delivery": {
            "neg": (
                "Toimitus kesti {n} päivää, vaikka pikatoimitus luvattiin.",
                "Tilaus saapui vajaana, eikä kukaan kertonut, että loput ovat jälkitoimituksessa.",
                "Toimitus myöhästyi taas. Porukka odotti työmaalla ilman kenkiä.",
                "Seurantatiedot eivät päivittyneet ollenkaan, emme tienneet, missä paketti oli.",
                "Kaksi laatikkoa tuli rikki, ja korvaava lähetys kesti yli viikon.",
                "Toimitukset ovat viime aikoina epäluotettavia, luvattu päivä ei koskaan pidä.",
                "Meille toimitettiin väärät koot, eikä palautus ollut helppo.",
            ),
            "mid": (
                "Toimitus toimii yleensä, mutta voisi olla nopeampi.",
                "Toimitukset tulevat perille, mutta seuranta voisi olla tarkempi.",
                "Tilaukset tulevat aikanaan, mutta {n} päivää on meille liian pitkä aika.",
            ),
            "pos": (
                "Nopea toimitus, kaikki tuli jo seuraavana päivänä.",
                "Tilaukset tulevat aina ajallaan ja hyvin pakattuina.",
                "Luotettavat toimitukset, tilauksia ei tarvitse koskaan jahdata.",
                "Toimituksen seuranta on loistava, tiedämme aina, milloin lähetys saapuu.",
                "Nopea toimitus ja vaivattomat palautukset.",
            ),
        },
        "price": {
            "neg": (
                "Liian kallis siihen nähden, mitä saa.",
                "Hinta nousi taas ilman mitään todellista parannusta.",
                "Hinnat ovat paljon kilpailijoita korkeammat, harkitsemme vaihtoehtoja.",
                "Basic-paketti ei ole enää hintansa arvoinen.",
                "Pienten tilausten toimitusmaksut ovat kohtuuttomia.",
                "Piilokuluja joka puolella, lopullinen hinta ei koskaan vastaa tarjousta.",
            ),
            "mid": (
                "Hyviä tuotteita, mutta hinnat ovat kalliimmasta päästä.",
                "Hinta-laatusuhde on kohtuullinen, mutta määräalennukset voisivat olla parempia.",
                "Hinta on hyväksyttävä, ei kuitenkaan halpa.",
            ),
            "pos": (
                "Erinomainen hinta-laatusuhde.",
                "Reilut hinnat, ja määräalennus auttaa meitä todella.",
                "Ei halvin, mutta jokaisen euron arvoinen.",
                "Selkeä hinnoittelu ilman yllätyksiä.",
                "Pro-paketti maksaa itsensä takaisin.",
            ),
        },
        "support": {
            "neg": (
                "Asiakaspalvelu on hidasta, odotin vastausta {n} päivää.",
                "Kukaan ei vastaa puhelimeen, ja chat on aina suljettu.",
                "Asiakaspalvelu lähetti saman vakiovastauksen lukematta kysymystäni.",
                "Jouduin selittämään ongelmani kolme kertaa eri ihmisille.",
                "Asiakaspalvelusta ei ollut mitään apua, ongelma on yhä ratkaisematta.",
                "Tukitiimi sulki tikettini ratkaisematta mitään.",
            ),
            "mid": (
                "Asiakaspalvelu on ystävällistä, mutta vastauksen saaminen kestää.",
                "Tuki ratkaisi lopulta ongelmani, se vain kesti liian kauan.",
                "Chatista saa apua, puhelimitse huonommin.",
            ),
            "pos": (
                "Erinomainen asiakaspalvelu, ongelma ratkesi muutamassa minuutissa.",
                "Tukitiimi on ystävällinen, nopea ja tuntee tuotteet oikeasti.",
                "Asiakaspalvelu teki kaikkensa auttaakseen meitä.",
                "Aina oikea ihminen vastaamassa, ja nopeasti.",
                "Chatissa vastataan heti, kun meillä on kysyttävää.",
            ),
        },
        "quality": {
            "neg": (
                "Takit alkoivat hajota muutaman pesun jälkeen.",
                "Työhousujen saumat repesivät kuukauden sisällä.",
                "Laatu on heikentynyt, kengät eivät ole enää vedenpitävät.",
                "Koot vaihtelevat erästä toiseen.",
                "Vetoketjut hajoavat aivan liian helposti.",
                "Huono laatu hintaan nähden, kangas nukkaantuu parissa viikossa.",
            ),
            "mid": (
                "Tuotteet ovat ihan hyviä, mutta laatu vaihtelee erästä toiseen.",
                "Laatu on enimmäkseen hyvää, pari tuotetta ei kestänyt odotetusti.",
                "Hyvät varusteet, mutta mitoitus voisi olla johdonmukaisempi.",
            ),
            "pos": (
                "Erinomainen laatu, takit kestävät vuosia.",
                "Kengät ovat mukavat ja oikeasti vedenpitävät.",
                "Kestäviä työvaatteita, joita tiimimme käyttää mielellään.",
                "Laadukkaat materiaalit ja hyvä istuvuus.",
                "Tuotteet ovat huippulaatua ja juuri sellaisia kuin kuvattiin.",
            ),
        },
        "usability": {
            "neg": (
                "Tilaussovellus on sekava, mitään ei löydä helposti.",
                "Sovellus kirjaa minut ulos jatkuvasti.",
                "Samojen tuotteiden tilaaminen uudelleen vaatii aivan liikaa klikkauksia.",
                "Haku ei toiminut, se ei koskaan löydä oikeaa tuotetta.",
                "Uusin päivitys teki sovelluksen käytöstä vaikeampaa.",
                "Toimitusosoitetta ei voi vaihtaa sovelluksessa, vaikka se on perusasia.",
            ),
            "mid": (
                "Sovellus toimii, mutta navigointi voisi olla selkeämpää.",
                "Tilaussovellus on ok, haku voisi olla parempi.",
                "Tilaaminen on tarpeeksi helppoa, vaikka sovellus tuntuu vanhanaikaiselta.",
            ),
            "pos": (
                "Sovellus on todella helppokäyttöinen, uusintatilaus hoituu sekunneissa.",
                "Tilaussovellus on selkeä ja yksinkertainen.",
                "Tosi intuitiivinen sovellus, koko tiimi oppi sen päivässä.",
                "Helppo käyttää, ja tallennetut tilauslistat säästävät paljon aikaa.",
                "Uusi sovellus on iso parannus, kaikki löytyy sieltä, mistä odottaakin.",
            ),
        },
        "billing": {
            "neg": (
                "Meitä laskutettiin tässä kuussa kahdesti, ja hyvitystä odotetaan yhä.",
                "Laskut ovat väärin joka toinen kuukausi.",
                "Laskuissa ei näy kustannuspaikkaa, joten kirjanpito korjaa ne käsin.",
                "Peruin lisäpalvelun, mutta laskutitte siitä silti.",
                "Maksutapaa ei voi vaihtaa soittamatta asiakaspalveluun.",
            ),
            "mid": (
                "Laskutus toimii enimmäkseen, mutta laskut voisivat olla selkeämpiä.",
                "Laskutus toimii, verkkolaskujen tuki tekisi siitä paremman.",
                "Pieni laskutusvirhe korjattiin nopeasti, mutta sitä ei olisi pitänyt sattua.",
            ),
            "pos": (
                "Laskutus on selkeää, ja verkkolaskut tulevat ajallaan.",
                "Laskut ovat oikein ja helppo täsmäyttää tilauksiin.",
                "Yksinkertainen ja läpinäkyvä laskutus.",
                "Hienoa, että laskut menevät suoraan kirjanpitojärjestelmäämme.",
            ),
        },
        "onboarding": {
            "neg": (
                "Tilin käyttöönotto kesti viikkoja.",
                "Käyttöönotto oli sekavaa, kukaan ei kertonut, miten tiimi lisätään.",
                "Kukaan ei selittänyt aloittaessamme, miten paketit toimivat.",
                "Käyttöönotto-ohjeet olivat vanhentuneita, eikä niitä ollut helppo seurata.",
                "Luvattua perehdytyspuhelua ei koskaan tullut.",
            ),
            "mid": (
                "Aloitus sujui ihan hyvin, lyhyt opas olisi auttanut.",
                "Käyttöönotto meni hyvin, mutta kustannuspaikkojen tuonti kesti.",
                "Käyttöönotto kesti odotettua kauemmin, ihmiset olivat kuitenkin avuliaita.",
            ),
            "pos": (
                "Käyttöönotto sujui mutkattomasti, tilasimme jo ensimmäisenä päivänä.",
                "Perehdytyspuhelu oli todella hyödyllinen.",
                "Aloittaminen oli nopeaa ja kivutonta.",
                "Loistava käyttöönotto, asiakasvastaava teki kaikki asetukset puolestamme.",
            ),
        },
        "performance": {
            "neg": (
                "Sovellus on todella hidas, sivujen latautuminen kestää ikuisuuden.",
                "Verkkokaupan kassa aikakatkaisee jatkuvasti.",
                "Portaali oli tällä viikolla kahdesti nurin.",
                "Haku on tuskallisen hidas, kun tilaus on iso.",
                "Jokaisen sivun lataaminen kestää {n} sekuntia, tosi turhauttavaa.",
                "Sovellus ei toiminut koko aamuna.",
            ),
            "mid": (
                "Sovellus on välillä vähän hidas, mutta toimii.",
                "Suorituskyky on kohtuullinen, kassa voisi olla nopeampi.",
                "Enimmäkseen nopea, ruuhka-aikoina välillä katkoja.",
            ),
            "pos": (
                "Sovellus on nopea eikä kaadu koskaan.",
                "Supernopea kassa.",
                "Nopea ja luotettava, emme ole huomanneet katkoja.",
                "Kaikki latautuu heti, myös puhelimella.",
            ),
        },
    },
    "et": {
        "delivery": {
            "neg": (
                "Tarne võttis {n} päeva, kuigi lubati kiirtarnet.",
                "Tellimus saabus poolikuna ja keegi ei öelnud, et ülejäänu on järeltellimusel.",
                "Tarne hilines jälle. Meeskond ootas objektil ilma jalanõudeta.",
                "Jälgimisinfo ei uuenenud üldse, me ei teadnud, kus pakk on.",
                "Kaks kasti saabus katkisena ja asendus võttis üle nädala.",
                "Tarned on viimasel ajal ebausaldusväärsed, lubatud kuupäevast ei peeta kinni.",
                "Saadeti valed suurused ja tagastamine ei olnud lihtne.",
            ),
            "mid": (
                "Tarne toimib üldiselt, aga võiks olla kiirem.",
                "Tarned jõuavad kohale, kuid jälgimine võiks olla täpsem.",
                "Tellimused jõuavad lõpuks kohale, aga {n} päeva on meie jaoks liiga pikk aeg.",
            ),
            "pos": (
                "Kiire tarne, kõik jõudis kohale juba järgmisel päeval.",
                "Tellimused saabuvad alati õigel ajal ja hästi pakitult.",
                "Usaldusväärsed tarned, tellimusi ei pea kunagi taga ajama.",
                "Tarne jälgimine on suurepärane, teame alati, millal saadetis saabub.",
                "Kiire tarne ja muretu tagastamine.",
            ),
        },
        "price": {
            "neg": (
                "Liiga kallis selle eest, mida saab.",
                "Hind tõusis jälle ilma igasuguse tegeliku paranduseta.",
                "Hinnad on palju kõrgemad kui konkurentidel, kaalume alternatiive.",
                "Basic-pakett ei ole enam oma raha väärt.",
                "Väikeste tellimuste saatmistasud on naeruväärsed.",
                "Igal pool varjatud kulud, lõplik hind ei vasta kunagi pakkumisele.",
            ),
            "mid": (
                "Head tooted, aga hinnad on pigem kõrged.",
                "Hinna ja kvaliteedi suhe on mõistlik, kuigi kogusoodustus võiks suurem olla.",
                "Hind on vastuvõetav, kuid mitte odav.",
            ),
            "pos": (
                "Suurepärane hinna ja kvaliteedi suhe.",
                "Õiglased hinnad ja kogusoodustus aitab meid tõesti.",
                "Mitte kõige odavam, aga iga eurot väärt.",
                "Läbipaistev hinnastus ilma üllatusteta.",
                "Pro-pakett tasub end ära.",
            ),
        },
        "support": {
            "neg": (
                "Klienditeenindus on aeglane, ootasin vastust {n} päeva.",
                "Keegi ei vasta telefonile ja vestlus on alati suletud.",
                "Klienditeenindus saatis sama standardvastuse, lugemata minu küsimust.",
                "Pidin oma probleemi kolm korda erinevatele inimestele selgitama.",
                "Klienditeenindusest polnud üldse abi, probleem on siiani lahendamata.",
                "Tugimeeskond sulges mu pöördumise ilma midagi lahendamata.",
            ),
            "mid": (
                "Klienditeenindus on sõbralik, aga vastuse saamine võtab aega.",
                "Tugi lahendas lõpuks mu probleemi, see võttis lihtsalt liiga kaua.",
                "Vestlusest saab abi, telefoni teel vähem.",
            ),
            "pos": (
                "Suurepärane klienditeenindus, probleem lahendati mõne minutiga.",
                "Tugimeeskond on sõbralik, kiire ja tunneb tooteid päriselt.",
                "Klienditeenindus tegi kõik, et meid aidata.",
                "Alati vastab päris inimene, ja kiiresti.",
                "Kui meil on küsimus, vastatakse vestluses kohe.",
            ),
        },
        "quality": {
            "neg": (
                "Jakid hakkasid pärast paari pesu lagunema.",
                "Tööpükste õmblused rebenesid kuu ajaga.",
                "Kvaliteet on halvenenud, saapad ei ole enam veekindlad.",
                "Suurused on partiide vahel erinevad.",
                "Tõmblukud lähevad liiga kergesti katki.",
                "Kehv kvaliteet selle hinna eest, kangas topib paari nädalaga.",
            ),
            "mid": (
                "Tooted on korralikud, aga kvaliteet kõigub partiide vahel.",
                "Kvaliteet on enamasti hea, paar toodet ei pidanud nii kaua vastu, kui lootsime.",
                "Hea varustus, kuigi suurused võiksid olla ühtlasemad.",
            ),
            "pos": (
                "Suurepärane kvaliteet, jakid peavad vastu aastaid.",
                "Saapad on mugavad ja päriselt veekindlad.",
                "Vastupidavad töörõivad, mida meie meeskond kannab hea meelega.",
                "Kvaliteetsed materjalid ja hea istuvus.",
                "Tooted on tippkvaliteediga ja täpselt sellised, nagu kirjeldatud.",
            ),
        },
        "usability": {
            "neg": (
                "Tellimisrakendus on segane, midagi ei ole lihtne leida.",
                "Rakendus logib mind kogu aeg välja.",
                "Samade toodete uuesti tellimine nõuab liiga palju klikke.",
                "Otsing ei tööta, see ei leia kunagi õiget toodet.",
                "Viimane uuendus tegi rakenduse kasutamise keerulisemaks.",
                "Tarneaadressi ei saa rakenduses muuta, kuigi see on põhiasi.",
            ),
            "mid": (
                "Rakendus töötab, aga navigeerimine võiks olla selgem.",
                "Tellimisrakendus on okei, otsing võiks parem olla.",
                "Tellimine on piisavalt lihtne, kuigi rakendus tundub vananenud.",
            ),
            "pos": (
                "Rakendust on väga lihtne kasutada, uuesti tellimine käib sekunditega.",
                "Tellimisrakendus on selge ja lihtne.",
                "Väga intuitiivne rakendus, kogu meeskond õppis selle päevaga selgeks.",
                "Lihtne kasutada ja salvestatud tellimisnimekirjad säästavad palju aega.",
                "Uus rakendus on suur edasiminek, kõik on seal, kus seda oodata.",
            ),
        },
        "billing": {
            "neg": (
                "Meilt võeti sel kuul raha kaks korda ja ootame siiani tagasimakset.",
                "Arved on iga teine kuu valesti.",
                "Arvetel ei ole kulukohta, nii et raamatupidaja parandab neid käsitsi.",
                "Tühistasin lisateenuse, aga te esitasite selle eest ikka arve.",
                "Makseviisi ei saa muuta ilma klienditeenindusse helistamata.",
            ),
            "mid": (
                "Arveldus toimib enamasti, aga arved võiksid olla selgemad.",
                "Arveldus töötab, e-arvete tugi teeks selle paremaks.",
                "Väike arveldusviga parandati kiiresti, aga seda poleks pidanud juhtuma.",
            ),
            "pos": (
                "Arveldus on selge ja e-arved saabuvad õigel ajal.",
                "Arved on täpsed ja neid on lihtne tellimustega kokku viia.",
                "Lihtne ja läbipaistev arveldus.",
                "Väga hea, et arved lähevad otse meie raamatupidamissüsteemi.",
            ),
        },
        "onboarding": {
            "neg": (
                "Konto seadistamine võttis nädalaid.",
                "Kasutuselevõtt oli kaootiline, keegi ei öelnud, kuidas meeskonda lisada.",
                "Alustades ei selgitanud keegi, kuidas paketid toimivad.",
                "Seadistusjuhised olid aegunud ja neid ei olnud lihtne järgida.",
                "Lubatud juhendamiskõnet ei tulnudki.",
            ),
            "mid": (
                "Alustamine läks üldiselt hästi, lühike juhend oleks aidanud.",
                "Kasutuselevõtt sujus, aga kulukohtade importimine võttis aega.",
                "Seadistamine võttis oodatust kauem, aga inimesed olid abivalmid.",
            ),
            "pos": (
                "Kasutuselevõtt sujus ladusalt, tellisime juba esimesel päeval.",
                "Juhendamiskõne oli väga kasulik.",
                "Alustamine oli kiire ja valutu.",
                "Suurepärane kasutuselevõtt, kliendihaldur seadistas kõik meie eest.",
            ),
        },
        "performance": {
            "neg": (
                "Rakendus on väga aeglane, lehtede laadimine võtab igavesti.",
                "E-poes katkeb maksmisel pidevalt ühendus.",
                "Portaal oli sel nädalal kaks korda maas.",
                "Otsing on piinavalt aeglane, kui tellimus on suur.",
                "Iga lehe laadimine võtab {n} sekundit, väga frustreeriv.",
                "Hommikuti rakendus üldse ei tööta.",
            ),
            "mid": (
                "Rakendus on kohati veidi aeglane, aga töötab.",
                "Jõudlus on vastuvõetav, kassa võiks kiirem olla.",
                "Enamasti kiire, tipptundidel esineb aeg-ajalt katkestusi.",
            ),
            "pos": (
                "Rakendus on kiire ega jookse kunagi kokku.",
                "Ülikiire kassa.",
                "Kiire ja töökindel, me pole katkestusi märganud.",
                "Kõik laeb koheselt, ka telefonis.",
            ),
        },
    },
}

# Short sentences added before or after a themed one, and whole comments
# without a theme: real comment sets have plenty of both.
EXTRAS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "neg": (
            "Very disappointed.",
            "Please fix this.",
            "We are considering switching suppliers.",
            "Not what we expected.",
            "This has happened before.",
        ),
        "mid": ("Otherwise fine.", "Overall okay.", "Not bad."),
        "pos": ("Keep up the good work!", "Thank you!", "Highly recommended.", "Great job, team."),
    },
    "fi": {
        "neg": (
            "Todella pettynyt.",
            "Korjatkaa tämä.",
            "Harkitsemme toimittajan vaihtamista.",
            "Ei sitä, mitä odotimme.",
            "Sama ongelma on toistunut ennenkin.",
        ),
        "mid": ("Muuten ihan ok.", "Kokonaisuutena kelvollinen.", "Ei hassumpi."),
        "pos": ("Jatkakaa samaan malliin!", "Kiitos!", "Suosittelen lämpimästi.", "Hyvää työtä!"),
    },
    "et": {
        "neg": (
            "Väga pettunud.",
            "Palun parandage see.",
            "Kaalume tarnija vahetamist.",
            "Mitte see, mida ootasime.",
            "Sama probleem on ka varem esinenud.",
        ),
        "mid": ("Muidu on kõik korras.", "Üldiselt rahuldav.", "Pole paha."),
        "pos": ("Jätkake samas vaimus!", "Aitäh!", "Soovitan soojalt.", "Hea töö!"),
    },
}

GENERIC: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "neg": ("Not happy.", "Expected better.", "Bad service."),
        "mid": ("Okay.", "Fine, nothing special.", "It does the job."),
        "pos": ("Great!", "All good.", "Excellent service all round."),
    },
    "fi": {
        "neg": ("En ole tyytyväinen.", "Odotin parempaa.", "Huonoa palvelua."),
        "mid": ("Ihan ok.", "Ei mitään erikoista.", "Ajaa asiansa."),
        "pos": ("Loistavaa!", "Kaikki kunnossa.", "Erinomaista palvelua kaikin puolin."),
    },
    "et": {
        "neg": ("Ei ole rahul.", "Ootasin paremat.", "Kehv teenindus."),
        "mid": ("Okei.", "Mitte midagi erilist.", "Täidab oma eesmärki."),
        "pos": ("Suurepärane!", "Kõik on korras.", "Suurepärane teenindus igas mõttes."),
    },
}
