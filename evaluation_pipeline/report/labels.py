"""Report and figure labels: Norwegian bokmål by default, English as a study option; and the
labels a study gives its indicators, scales and kommuner (:func:`study_labels`)."""

from __future__ import annotations

LABELS = {
    "nb": {
        "network": "Nettverkskommuner",
        "comparison": "Sammenligningskommuner",
        "all": "Alle",
        "year": "År",
        "wave": "Runde",
        "mean_score": "Gjennomsnittlig skåre",
        "synthetic": "SYNTETISKE DATA (SYNTHETIC)",
        "joined": "Innmelding i nettverket",
        "definition_break": "Brudd i statistikken",
        "share_answers": "Andel svar",
        "event_time": "År før/etter innmelding",
        "effect": "Effekt (nettverk − sammenligning)",
        "report_title": "Evalueringsrapport",
        "fig_survey": "Gjennomsnittlig skåre per runde med 95 % konfidensintervall.",
        "fig_registry": "Samlet rate per år i nettverks- og sammenligningskommunene; stiplede "
        "linjer viser når kommuner ble med i nettverket.",
        "fig_interviews": "Andel intervjuer som nevner hvert tema, per intervjurunde.",
        "tab_effects": "Endring fra baseline og forskjell mellom nettverk og sammenligning.",
        "tab_survey": "Skåre per skala, runde og gruppe.",
        "tab_interviews": "Kodinger og intervjuer per tema og runde.",
        "fig_interview_theme_shares": "Andel intervjuer som nevner hvert tema, per runde.",
        "fig_interview_theme_shifts": "Endring i andel intervjuer som nevner temaet fra "
        "baseline til oppfølging (95 % KI, Newcombe).",
        "fig_interview_theme_heatmap": "Andel intervjuer som nevner temaet, per sektor og "
        "runde, eller bare per runde når sektorgruppene er for små til å vises.",
        "fig_interview_co_occurrence": "Samforekomst av temaer i samme intervju (Jaccard).",
        "tab_intercoder": "Samsvar mellom kodere på dobbeltkodede intervjuer (tema til stede "
        "eller ikke): Krippendorffs alfa, Cohens kappa og prosent enighet.",
        "theme_shift": "Endring i andel",
        "share_difference": "Differanse i andel (oppfølging − baseline)",
        "fig_survey_scale_means": "Gjennomsnittlig skåre per runde med 95 % "
        "konfidensintervall.",
        "fig_survey_forest": "Endring fra baseline til siste runde per nettverkskommune "
        "(95 % KI); samlet estimat nederst.",
        "fig_survey_item_distributions": "Svarfordeling per spørsmål og runde i "
        "nettverkskommunene (svar slik de ble gitt, uten omkoding).",
        "tab_reliability": "Reliabilitet per skala og runde: Cronbachs alfa med 95 % KI og "
        "McDonalds omega.",
        "tab_response": "Antall svar per kommune og runde (svarprosent der antall inviterte er "
        "oppgitt).",
        "fig_registry_trends": "Samlet rate per år i nettverks- og sammenligningskommunene; "
        "stiplede linjer viser når kommuner ble med i nettverket.",
        "fig_registry_event_study": "Effekt etter år før og etter innmelding (referanse: året "
        "før), toveis faste effekter og Callaway–Sant'Anna, med 95 % konfidensintervall.",
        "tab_registry_did": "Forskjell-i-forskjeller per indikator: toveis faste effekter "
        "(klyngerobust KI og wild cluster bootstrap) og Callaway–Sant'Anna (gruppe-tid ATT).",
        "pretrend": "Test av parallelle trender før innmelding (alle koeffisienter før "
        "innmelding lik 0):",
        "design": "Design og data",
        "survey": "Spørreundersøkelse",
        "registry": "Registerdata",
        "interviews": "Intervjuer",
        "effects": "Effektestimater",
        "theme": "Tema",
        "share_sources": "Andel intervjuer som nevner temaet",
        "suppressed_note": "Celler med færre enn {k} enheter er prikket.",
        "estimate": "Estimat",
        "ci": "95 % KI",
        "outcome": "Utfall",
        "contrast": "Sammenligning",
        "group": "Gruppe",
        "n": "n",
        "method": "Metode",
        "kommuner": "Kommuner",
        "waves": "Runder",
        "respondents": "Svar",
        "generated": "Generert",
        "caveats": "Forbehold",
        "synthetic_caveat": (
            "Alle tall i denne rapporten er SYNTETISKE (eksempelstudie med innplantede effekter)."
        ),
        "few_clusters": (
            "Studien har {n_net} nettverkskommuner og {n_cmp} sammenligningskommuner, altså få "
            "klynger; klyngerobuste standardfeil kan gi for små p-verdier. Derfor rapporteres "
            "også wild cluster bootstrap der den kunne beregnes."
        ),
        "few_clusters_cs": (
            "Konfidensintervallene fra Callaway–Sant'Anna blir for smale når få kommuner er "
            "med i nettverket (se simuleringen i BENCHMARKS.md)."
        ),
        "few_kommuner_caveat": (
            "Få kommuner: nettverket har {n} kommuner (færre enn {min}). Estimatene og "
            "vurderingene vises, men bygger på få klynger og er usikre; vurderinger merket "
            "«få kommuner» bygger på wild cluster bootstrap eller klyngerobuste standardfeil "
            "med t-fordeling. Antall kommuner er ikke personopplysninger og prikkes ikke."
        ),
        "lc_caveat_few_kommuner": "få kommuner",
        "not_computed": "ikke beregnet",
        "pretrend_no_pre": "ingen år før innmelding i vinduet",
        "pretrend_no_stat": "testen kunne ikke beregnes fra koeffisientene",
        "methods_survey_base": "Spørreundersøkelse: skåre per skala er gjennomsnittet av "
        "besvarte spørsmål (omkodet der det er angitt). Endring fra baseline er estimert med "
        "paret t-test for panelet og Welch-test ellers.",
        "methods_survey_two_step": "For {scales} er forskjellen mellom nettverk og "
        "sammenligning estimert i to trinn (Donald og Lang 2007): gjennomsnittlig skåre per "
        "kommune og runde, justert for rollesammensetningen, og så hver kommunes endring "
        "sammenlignet mellom nettverks- og sammenligningskommunene (vektet etter presisjon), "
        "med t-fordeling med antall kommuner minus 2 frihetsgrader. Kommunen er enheten for "
        "usikkerheten: nettverket varierer mellom kommuner, og svar fra samme kommune og runde "
        "påvirkes av de samme lokale forholdene.",
        "methods_survey_mixed": "Forskjellen mellom nettverk og sammenligning er estimert med "
        "en blandet modell med kommune som tilfeldig effekt for {scales}.",
        "methods_survey_ols": "For {scales} er forskjellen mellom nettverk og sammenligning "
        "estimert med OLS med faste kommuneeffekter og klyngerobuste standardfeil (gruppert "
        "på kommune, t-fordeling) i stedet for en blandet modell ({why}).",
        "methods_fallback_few": "færre enn {min} kommuner: {n}",
        "methods_fallback_other": "den blandede modellen kunne ikke tilpasses; se merknaden "
        "i effekttabellen",
        "methods_registry_twfe": "Registerdata: forskjell-i-forskjeller med toveis faste "
        "effekter (kommune og år, klyngerobuste standardfeil).",
        "methods_registry_wcb": "Med få kommuner er også wild cluster bootstrap brukt (p-verdi "
        "og konfidensintervall ved testinversjon).",
        "methods_registry_weighted": "Forskjell-i-forskjeller er vektet etter befolkning "
        "for {names}.",
        "methods_registry_unweighted": "Uvektet, der hver kommune teller likt: {names}.",
        "methods_registry_rolling": "Glidende gjennomsnitt over flere år, datert med "
        "periodens siste år: {names}.",
        "methods_registry_cs": "Callaway og Sant'Annas estimator for forskjøvet innmelding er "
        "rapportert ved siden av.",
        # study report (tables, sections, methods)
        "tab_kommuner": "Kommunene i studien: nettverk (med år for innmelding) og "
        "sammenligning.",
        "tab_validation": "Validering mot datakontraktene: rader som besto og rader som ble "
        "avvist, per tabell (og runde), med reglene som ble brutt.",
        "tab_survey_scale_means": "Skåre per skala, runde og gruppe (n_wave: alle svar i "
        "runden).",
        "tab_scale_reliability": "Reliabilitet per skala og runde: Cronbachs alfa med 95 % KI "
        "og McDonalds omega.",
        "tab_survey_response": "Antall svar per kommune og runde, med sum per runde.",
        "tab_survey_panel_retention": "Panelfrafall: respondenter i baseline som svarte igjen "
        "i oppfølgingen.",
        "tab_survey_item_distributions": "Svarfordeling per spørsmål, runde og gruppe.",
        "tab_registry_group_rates": "Samlet rate per år, indikator og gruppe.",
        "tab_interview_theme_counts": "Kodinger og intervjuer per tema og runde.",
        "tab_interview_theme_role": "Intervjuer som nevner temaet, per sektor og runde.",
        "tab_interview_theme_role_left_out": "sektorfordelingen er utelatt for {n} kombinasjon(er) "
        "av tema og runde der bare en skjult sum kunne beskytte små tall (summen står i tabellen "
        "over temaer)",
        "tab_interview_co_occurrence": "Samforekomst av temaer i samme intervju.",
        "tab_intercoder_reliability": "Samsvar mellom kodere på dobbeltkodede intervjuer.",
        "fig_survey_pre_post": "Gjennomsnittlig skåre i baseline og siste oppfølging, nettverk "
        "og sammenligning, med 95 % KI.",
        "source_survey": "spørreundersøkelsen",
        "source_registry": "registerstatistikk (harmonisert til studiens kommunegrenser)",
        "source_interviews": "kodede intervjuer (QDA-eksport)",
        "source_all": "spørreundersøkelse, registerdata og intervjuer",
        "source_contracts": "datakontraktene (data_contracts/*.yaml)",
        "source_design": "study.yaml",
        "method_logic_chain": "hovedestimat per indikator mot forventet retning",
        "method_validation": "great-expectations, radregler per kontrakt",
        "method_effects": "se metodekapitlet",
        "validation": "Validering",
        "validation_text": "Alle datafiler er kontrollert mot datakontraktene før analysen. "
        "Rader som bryter en regel er tatt ut og telt her.",
        "logic_chain_text": "Tabellen viser hvert ledd i endringsteorien med indikatoren som "
        "måler det, estimatet med 95 % KI, forventet retning og vurderingen.",
        "verdict_counts": "Vurderinger:",
        "joined_year": "år for innmelding",
        "retention_text": "Panel: respondenter i baseline som svarte igjen (andel av "
        "baseline):",
        "methods": "Metode",
        "methods_survey": "Spørreundersøkelse: skåre per skala er gjennomsnittet av "
        "besvarte spørsmål (omkodet der det er angitt). Endring fra baseline er estimert med "
        "paret t-test for panelet og Welch-test ellers; forskjellen mellom nettverk og "
        "sammenligning i to trinn på kommunenivå (gjennomsnitt per kommune og runde).",
        "methods_registry": "Registerdata: forskjell-i-forskjeller med toveis faste effekter "
        "(kommune og år, klyngerobuste standardfeil og wild cluster bootstrap) og Callaway og "
        "Sant'Annas estimator for forskjøvet innmelding.",
        "methods_interviews": "Intervjuer: andel intervjuer som nevner hvert tema per runde; "
        "endring med Newcombes konfidensintervall og Fishers eksakte test (Holm-justert).",
        "methods_network": "Samhandlingsnettverket: et bånd A → B er jevnlig når minst "
        "{share} av svarene fra tjeneste A om tjeneste B er {regular_from} eller høyere. Per "
        "kommune og runde: tetthet av jevnlige bånd, Freemans gradsentralisering, gjensidighet, "
        "asymmetri, isolerte tjenester og gjennomsnittlig kvalitet. Endring fra baseline med "
        "respondent-bootstrap (Rao–Wu) innen kommune × runde × tjeneste; nettverk mot "
        "sammenligning som forskjell-i-forskjeller av kommunenes endringer, med "
        "randomiseringsinferens over kommunenes gruppetilhørighet (p-verdi og KI ved "
        "testinversjon) og villt klyngebootstrap som kontroll.",
        "methods_tables": "Tabeller: estimater med 2 desimaler, p-verdier med 3 (under 0,001 "
        "som <0,001), antall som heltall og andeler i prosent med 1 desimal. Celler med færre "
        "enn {k} enheter vises ikke (:), heller ikke celler som kunne regnes ut fra summer.",
        "suppressed_caveat": "Prikking: {n} rader har skjulte celler (færre enn {k} enheter, "
        "eller sekundær prikking).",
        "breaks_caveat": "Brudd i statistikken (endret definisjon):",
        "not_estimated": "Kunne ikke estimeres (utilstrekkelige data):",
        "source_failed": "Disse dataene er ikke analysert fordi de ikke kunne leses eller ikke "
        "besto valideringen: "
        "{reason}. Rett filen og kjør på nytt; resten av rapporten er laget uten dem.",
        "suppressed_rows": "Rader med prikkede celler",
        "total": "Sum",
        "lc_exp_increase": "Økning",
        "lc_exp_decrease": "Nedgang",
        "estimated_caveat": (
            "Tall for {name} {code} i {first}–{last}, som senere ble delt, er fordelt på "
            "{to} etter befolkningsandel og merket som estimert."
        ),
        "lc_goal": "Mål",
        "lc_intervention": "Tiltak",
        "lc_output": "Resultater",
        "lc_outcome": "Effekter",
        "lc_impact": "Samfunnseffekter",
        "lc_supports": "Støtter",
        "lc_no_clear_change": "Ingen klar endring",
        "lc_contrary": "Motsier",
        "lc_insufficient_data": "For lite data",
        "lc_not_measured": "Ikke målt",
        "lc_title": "Endringsteori og evidens",
        "lc_verdict": "Vurdering",
        "fig_logic_chain": "Endringsteorien fra mål til samfunnseffekter. Hver boks og pil er "
        "farget og mønstret etter vurderingen av evidensen (justert p for hovedestimatet "
        "og retningen sammenlignet med forventet retning; se teksten).",
        "tab_logic_chain": "Evidens for hvert ledd i endringsteorien: hovedestimat med 95 % KI, "
        "ujustert og justert p, simultant KI, forventet retning og vurdering.",
        # multiplicity (inference: in study.yaml)
        "inf_holm": "Holm-justerte", "inf_bonferroni": "Bonferroni-justerte",
        "inf_fdr_bh": "Benjamini–Hochberg-justerte",
        "inf_family_logic_chain": "alle {m} indikatorer i endringsteorien",
        "inf_family_element": "indikatorene i hvert ledd av endringsteorien",
        "inf_family_source": "endringsteoriens indikatorer fra hver datakilde",
        "lc_inference": "Vurderingene bygger på {method} p-verdier (α = {alpha}); familien "
        "som justeres samlet er {family}. «Støtter»: justert p under α og estimatet i "
        "forventet retning; «Motsier»: justert p under α i motsatt retning; «Ingen klar "
        "endring»: justert p er minst α. {ci}",
        "lc_inference_none": "Vurderingene bygger på ujusterte p-verdier (α = {alpha}), uten "
        "justering for at flere indikatorer testes (inference: i study.yaml). «Støtter»: p "
        "under α og estimatet i forventet retning; «Motsier»: p under α i motsatt retning; "
        "«Ingen klar endring»: p er minst α.",
        "lc_sim_bonferroni": "Simultane konfidensintervall er Bonferroni-intervall på nivå "
        "1 − α/m (m = antall tester i familien).",
        "lc_sim_holm": "Simultane konfidensintervall er Bonferroni-intervall på nivå 1 − α/m "
        "(m = antall tester i familien); Holms trinnvise test kan forkaste der intervallet "
        "ennå dekker 0 (Holm-konsistente intervall, Strassburger og Bretz 2008, sier bare "
        "hvilken side av 0 effekten ligger på).",
        "lc_sim_fdr_bh": "Benjamini–Hochberg kontrollerer andelen falske funn, ikke "
        "sannsynligheten for minst ett falskt funn, og gir ingen simultane intervall.",
        "lc_sim_bootstrap": "For registerindikatorer med wild cluster bootstrap brukes "
        "bootstrap-p; intervallet er invertert bare på 95 %-nivå, så simultant KI mangler.",
    },
    "en": {
        "network": "Network kommuner",
        "comparison": "Comparison kommuner",
        "all": "All",
        "year": "Year",
        "wave": "Wave",
        "mean_score": "Mean score",
        "synthetic": "SYNTHETIC DATA",
        "joined": "Joined the network",
        "definition_break": "Definition break",
        "share_answers": "Share of answers",
        "event_time": "Years before/after joining",
        "effect": "Effect (network − comparison)",
        "report_title": "Evaluation report",
        "fig_survey": "Mean score by wave with 95% confidence intervals.",
        "fig_registry": "Pooled rate by year in network and comparison kommuner; dotted lines "
        "mark the years kommuner joined the network.",
        "fig_interviews": "Share of interviews mentioning each theme, by interview round.",
        "tab_effects": "Change from baseline and network vs comparison differences.",
        "tab_survey": "Scores by scale, wave and group.",
        "tab_interviews": "Codings and interviews by theme and round.",
        "fig_interview_theme_shares": "Share of interviews mentioning each theme, by round.",
        "fig_interview_theme_shifts": "Change in the share of interviews mentioning the theme "
        "from baseline to follow-up (95% CI, Newcombe).",
        "fig_interview_theme_heatmap": "Share of interviews mentioning the theme by sector and "
        "round, or by round only when the sector groups are too small to show.",
        "fig_interview_co_occurrence": "Themes mentioned in the same interview (Jaccard).",
        "tab_intercoder": "Agreement between coders on double-coded interviews (theme present "
        "or not): Krippendorff's alpha, Cohen's kappa and percent agreement.",
        "theme_shift": "Change in share",
        "share_difference": "Difference in share (follow-up − baseline)",
        "fig_survey_scale_means": "Mean score by wave with 95% confidence intervals.",
        "fig_survey_forest": "Change from baseline to the last wave per network kommune (95% "
        "CI); pooled estimate last.",
        "fig_survey_item_distributions": "Answers per item and wave in the network kommuner "
        "(as answered, not reverse coded).",
        "tab_reliability": "Reliability per scale and wave: Cronbach's alpha with 95% CI and "
        "McDonald's omega.",
        "tab_response": "Answers per kommune and wave (response rate where the number invited "
        "is given).",
        "fig_registry_trends": "Pooled rate by year in network and comparison kommuner; dotted "
        "lines mark the years kommuner joined the network.",
        "fig_registry_event_study": "Effect by years before and after joining (reference: the "
        "year before), two-way fixed effects and Callaway–Sant'Anna, with 95% CIs.",
        "tab_registry_did": "Difference-in-differences per indicator: two-way fixed effects "
        "(cluster-robust CI and wild cluster bootstrap) and Callaway–Sant'Anna (group-time ATT).",
        "pretrend": "Test of parallel pre-trends (all coefficients before joining equal 0):",
        "design": "Design and data",
        "survey": "Survey",
        "registry": "Registry statistics",
        "interviews": "Interviews",
        "effects": "Effect estimates",
        "theme": "Theme",
        "share_sources": "Share of interviews mentioning the theme",
        "suppressed_note": "Cells with fewer than {k} units are suppressed.",
        "estimate": "Estimate",
        "ci": "95% CI",
        "outcome": "Outcome",
        "contrast": "Contrast",
        "group": "Group",
        "n": "n",
        "method": "Method",
        "kommuner": "Kommuner",
        "waves": "Waves",
        "respondents": "Answers",
        "generated": "Generated",
        "caveats": "Caveats",
        "synthetic_caveat": (
            "Every number in this report is SYNTHETIC (example study with planted effects)."
        ),
        "few_clusters": (
            "The study has {n_net} network and {n_cmp} comparison kommuner, so few clusters; "
            "cluster-robust standard errors may over-reject, so a wild cluster bootstrap is "
            "reported too where it could be computed."
        ),
        "few_clusters_cs": (
            "Callaway–Sant'Anna's confidence intervals are too narrow when few kommuner are in "
            "the network (see the simulation in BENCHMARKS.md)."
        ),
        "few_kommuner_caveat": (
            "Few kommuner: the network has {n} kommuner (fewer than {min}). The estimates and "
            "verdicts are shown but rest on few clusters and are uncertain; verdicts marked "
            "\"few kommuner\" rest on the wild cluster bootstrap or on cluster-robust standard "
            "errors with t inference. Counts of kommuner are not personal data and are not "
            "suppressed."
        ),
        "lc_caveat_few_kommuner": "few kommuner",
        "not_computed": "not computed",
        "pretrend_no_pre": "no years before joining in the window",
        "pretrend_no_stat": "the test could not be computed from the coefficients",
        "methods_survey_base": "Survey: a scale score is the mean of the items answered "
        "(reverse coded where declared). Change from baseline is estimated with a paired "
        "t-test for the panel and Welch's test otherwise.",
        "methods_survey_two_step": "For {scales}, network vs comparison is estimated in two "
        "steps (Donald and Lang 2007): the mean score per kommune and wave, adjusted for the "
        "role mix, then each kommune's change compared between the network and the comparison "
        "kommuner (weighted by precision), with t inference on the number of kommuner "
        "minus 2 degrees of freedom. The kommune is the unit of the uncertainty: the network "
        "varies by kommune, and answers from the same kommune and wave share local "
        "circumstances.",
        "methods_survey_mixed": "Network vs comparison is estimated with a mixed model with a "
        "random intercept per kommune for {scales}.",
        "methods_survey_ols": "For {scales}, network vs comparison is estimated with OLS with "
        "kommune fixed effects and cluster-robust standard errors (clustered by kommune, t "
        "inference) instead of a mixed model ({why}).",
        "methods_fallback_few": "fewer than {min} kommuner: {n}",
        "methods_fallback_other": "the mixed model could not be fitted; see the note in the "
        "effects table",
        "methods_registry_twfe": "Registry statistics: difference-in-differences with two-way "
        "fixed effects (kommune and year, cluster-robust standard errors).",
        "methods_registry_wcb": "With few kommuner a wild cluster bootstrap is used too "
        "(p-value and confidence interval by test inversion).",
        "methods_registry_weighted": "The difference-in-differences is weighted by "
        "population for {names}.",
        "methods_registry_unweighted": "Unweighted, each kommune counting equally: {names}.",
        "methods_registry_rolling": "Rolling multi-year averages, dated by the period's last "
        "year: {names}.",
        "methods_registry_cs": "Callaway and Sant'Anna's estimator for staggered adoption is "
        "reported beside it.",
        # study report (tables, sections, methods)
        "tab_kommuner": "The kommuner of the study: network (with the year they joined) and "
        "comparison.",
        "tab_validation": "Validation against the data contracts: rows that passed and rows "
        "rejected, per table (and wave), with the rules broken.",
        "tab_survey_scale_means": "Scores by scale, wave and group (n_wave: all answers in the "
        "wave).",
        "tab_scale_reliability": "Reliability per scale and wave: Cronbach's alpha with 95% CI "
        "and McDonald's omega.",
        "tab_survey_response": "Answers per kommune and wave, with the wave's total.",
        "tab_survey_panel_retention": "Panel retention: baseline respondents who answered "
        "again at follow-up.",
        "tab_survey_item_distributions": "Answers per item, wave and group.",
        "tab_registry_group_rates": "Pooled rate by year, indicator and group.",
        "tab_interview_theme_counts": "Codings and interviews by theme and round.",
        "tab_interview_theme_role": "Interviews mentioning the theme, by sector and round.",
        "tab_interview_theme_role_left_out": "the sector breakdown is left out for {n} "
        "theme × round combination(s) where only a hidden total could protect small counts (the "
        "total is published in the theme table)",
        "tab_interview_co_occurrence": "Themes mentioned in the same interview.",
        "tab_intercoder_reliability": "Agreement between coders on double-coded interviews.",
        "fig_survey_pre_post": "Mean score at baseline and at the last follow-up, network and "
        "comparison, with 95% CIs.",
        "source_survey": "the survey",
        "source_registry": "registry statistics (harmonized to the study's kommune borders)",
        "source_interviews": "coded interviews (QDA export)",
        "source_all": "survey, registry statistics and interviews",
        "source_contracts": "the data contracts (data_contracts/*.yaml)",
        "source_design": "study.yaml",
        "method_logic_chain": "primary estimate per indicator against the expected direction",
        "method_validation": "great-expectations, row rules per contract",
        "method_effects": "see the methods section",
        "validation": "Validation",
        "validation_text": "Every data file was checked against its data contract before the "
        "analysis. Rows breaking a rule were set aside and are counted here.",
        "logic_chain_text": "The table shows each element of the logic chain with the "
        "indicator measuring it, the estimate with its 95% CI, the expected direction and the "
        "verdict.",
        "verdict_counts": "Verdicts:",
        "joined_year": "year joined",
        "retention_text": "Panel: baseline respondents who answered again (share of "
        "baseline):",
        "methods": "Methods",
        "methods_survey": "Survey: a scale score is the mean of the items answered (reverse "
        "coded where declared). Change from baseline is estimated with a paired t-test for the "
        "panel and Welch's test otherwise; network vs comparison in two steps at the kommune "
        "level (means per kommune and wave).",
        "methods_registry": "Registry statistics: difference-in-differences with two-way fixed "
        "effects (kommune and year, cluster-robust standard errors and a wild cluster "
        "bootstrap) and Callaway and Sant'Anna's estimator for staggered adoption.",
        "methods_interviews": "Interviews: share of interviews mentioning each theme per "
        "round; change with Newcombe's confidence interval and Fisher's exact test (Holm "
        "adjusted).",
        "methods_network": "Collaboration network: a tie A → B is regular when at least "
        "{share} of service A's answers about service B are {regular_from} or higher. Per "
        "kommune and wave: density of regular ties, Freeman's degree centralization, "
        "reciprocity, asymmetry, isolated services and mean quality. Change from the baseline "
        "by a respondent bootstrap (Rao–Wu) within kommune × wave × service; network vs "
        "comparison as the difference in differences of the kommuner's changes, with "
        "randomization inference over the kommuner's group labels (p-value and CI by test "
        "inversion) and the wild cluster bootstrap as a check.",
        "methods_tables": "Tables: estimates with 2 decimals, p-values with 3 (below 0.001 as "
        "<0.001), counts as integers and shares as percent with 1 decimal. Cells with fewer "
        "than {k} units are not shown (:), nor are cells that could be derived from totals.",
        "suppressed_caveat": "Suppression: {n} rows have hidden cells (fewer than {k} units, "
        "or secondary suppression).",
        "breaks_caveat": "Definition breaks in the statistics:",
        "not_estimated": "Could not be estimated (insufficient data):",
        "source_failed": "These data were not analysed because they could not be read or failed "
        "validation: "
        "{reason}. Fix the file and run again; the rest of the report was built without them.",
        "suppressed_rows": "Rows with suppressed cells",
        "total": "Total",
        "lc_exp_increase": "Increase",
        "lc_exp_decrease": "Decrease",
        "estimated_caveat": (
            "Figures for {name} {code} in {first}–{last}, later split, are allocated to {to} "
            "by population share and flagged as estimated."
        ),
        "lc_goal": "Goal",
        "lc_intervention": "Interventions",
        "lc_output": "Outputs",
        "lc_outcome": "Outcomes",
        "lc_impact": "Impact",
        "lc_supports": "Supports",
        "lc_no_clear_change": "No clear change",
        "lc_contrary": "Contrary",
        "lc_insufficient_data": "Insufficient data",
        "lc_not_measured": "Not measured",
        "lc_title": "Logic chain and evidence",
        "lc_verdict": "Verdict",
        "fig_logic_chain": "The logic chain from goal to impact. Each box and arrow is coloured "
        "and patterned by the verdict on its evidence (adjusted p of the primary estimate and "
        "its direction against the expected direction; see the text).",
        "tab_logic_chain": "Evidence for each element of the logic chain: primary estimate "
        "with 95% CI, unadjusted and adjusted p, simultaneous CI, expected direction and "
        "verdict.",
        # multiplicity (inference: in study.yaml)
        "inf_holm": "Holm-adjusted", "inf_bonferroni": "Bonferroni-adjusted",
        "inf_fdr_bh": "Benjamini–Hochberg-adjusted",
        "inf_family_logic_chain": "all {m} indicators of the logic chain",
        "inf_family_element": "the indicators of each element of the logic chain",
        "inf_family_source": "the logic chain's indicators from each source of evidence",
        "lc_inference": "The verdicts rest on {method} p-values (α = {alpha}); the family "
        "adjusted together is {family}. Supports: adjusted p below α and the estimate in the "
        "expected direction; contrary: adjusted p below α in the other direction; no clear "
        "change: adjusted p at least α. {ci}",
        "lc_inference_none": "The verdicts rest on unadjusted p-values (α = {alpha}), with no "
        "adjustment for testing several indicators (inference: in study.yaml). Supports: p "
        "below α and the estimate in the expected direction; contrary: p below α in the other "
        "direction; no clear change: p at least α.",
        "lc_sim_bonferroni": "Simultaneous confidence intervals are Bonferroni intervals at "
        "level 1 − α/m (m = the number of tests in the family).",
        "lc_sim_holm": "Simultaneous confidence intervals are Bonferroni intervals at level "
        "1 − α/m (m = the number of tests in the family); Holm's step-down test may reject "
        "where the interval still covers 0 (Holm-consistent intervals, Strassburger and "
        "Bretz 2008, only tell on which side of 0 the effect lies).",
        "lc_sim_fdr_bh": "Benjamini–Hochberg controls the false discovery rate, not the "
        "probability of any false finding, and gives no simultaneous intervals.",
        "lc_sim_bootstrap": "Registry indicators with the wild cluster bootstrap use the "
        "bootstrap p; its interval is inverted at the 95% level only, so they have no "
        "simultaneous CI.",
    },
}


COLUMNS = {
    "nb": {
        "source": "Kilde", "outcome": "Utfall", "contrast": "Sammenligning", "group": "Gruppe",
        "estimate": "Estimat", "ci_low": "KI nedre", "ci_high": "KI øvre", "p_value": "p",
        "n_obs": "n", "estimator": "Metode", "scale": "Skala", "wave": "Runde",
        "mean": "Snitt", "sd": "SD", "n": "n", "theme": "Tema", "n_segments": "Kodinger",
        "n_sources": "Intervjuer", "sources_in_group": "Intervjuer i runden",
        "share_sources": "Andel", "year": "År", "indicator": "Indikator", "value": "Verdi",
        "twfe": "TWFE", "twfe_ci_low": "TWFE KI nedre", "twfe_ci_high": "TWFE KI øvre",
        "twfe_p": "TWFE p", "boot_p": "Bootstrap p", "boot_ci_low": "Bootstrap KI nedre",
        "boot_ci_high": "Bootstrap KI øvre", "cs": "C&S ATT", "cs_ci_low": "C&S KI nedre",
        "cs_ci_high": "C&S KI øvre", "cs_p": "C&S p",
        "alpha": "Alfa", "alpha_ci_low": "Alfa KI nedre", "alpha_ci_high": "Alfa KI øvre",
        "omega": "Omega", "n_used": "n", "kommune": "Kommune", "respondents": "Svar",
        "invited": "Inviterte", "rate": "Svarprosent",
        "code": "Kode", "n_units": "Enheter", "n_coders": "Kodere",
        "percent_agreement": "Enighet", "kappa": "Kappa", "warning": "Merknad",
        "level": "Nivå", "element": "Ledd", "expected": "Forventet", "verdict": "Vurdering",
        "basis": "Grunnlag", "note": "Merknad", "caveat": "Forbehold",
        "n_unit": "n teller", "table": "Tabell", "rows_valid": "Godkjent",
        "rows_rejected": "Avvist", "rules": "Regler brutt", "name": "Navn",
        "join_year": "Innmeldt", "n_wave": "n i runden", "followup": "Oppfølging",
        "n_baseline": "n baseline", "n_followup": "n oppfølging", "retained": "I panelet",
        "share_of_baseline": "Andel av baseline", "share_of_followup": "Andel av oppfølging",
        "item": "Spørsmål", "category": "Svar", "count": "Antall", "share": "Andel",
        "n_answered": "Besvart", "n_missing": "Ubesvart", "role": "Sektor",
        "n_both": "Begge", "n_a": "n A", "n_b": "n B", "jaccard": "Jaccard", "se": "SE",
        "p_adjusted": "p justert", "effect_size": "Effektstørrelse",
        "sim_ci_low": "Simultant KI nedre", "sim_ci_high": "Simultant KI øvre",
        "twfe_p_adjusted": "TWFE p justert", "boot_p_adjusted": "Bootstrap p justert",
        "cs_p_adjusted": "C&S p justert",
        "effect_size_kind": "Type effektstørrelse", "n_treated": "n nettverk",
        "n_control": "n sammenligning", "reversed": "Omkodet", "n_kommuner": "Kommuner",
        "numerator": "Teller", "denominator": "Nevner", "a": "Tema A", "b": "Tema B",
    },
    "en": {
        "source": "Source", "outcome": "Outcome", "contrast": "Contrast", "group": "Group",
        "estimate": "Estimate", "ci_low": "CI low", "ci_high": "CI high", "p_value": "p",
        "n_obs": "n", "estimator": "Method", "scale": "Scale", "wave": "Wave",
        "mean": "Mean", "sd": "SD", "n": "n", "theme": "Theme", "n_segments": "Codings",
        "n_sources": "Interviews", "sources_in_group": "Interviews in round",
        "share_sources": "Share", "year": "Year", "indicator": "Indicator", "value": "Value",
        "twfe": "TWFE", "twfe_ci_low": "TWFE CI low", "twfe_ci_high": "TWFE CI high",
        "twfe_p": "TWFE p", "boot_p": "Bootstrap p", "boot_ci_low": "Bootstrap CI low",
        "boot_ci_high": "Bootstrap CI high", "cs": "C&S ATT", "cs_ci_low": "C&S CI low",
        "cs_ci_high": "C&S CI high", "cs_p": "C&S p",
        "alpha": "Alpha", "alpha_ci_low": "Alpha CI low", "alpha_ci_high": "Alpha CI high",
        "omega": "Omega", "n_used": "n", "kommune": "Kommune", "respondents": "Answers",
        "invited": "Invited", "rate": "Response rate",
        "code": "Code", "n_units": "Units", "n_coders": "Coders",
        "percent_agreement": "Agreement", "kappa": "Kappa", "warning": "Note",
        "level": "Level", "element": "Element", "expected": "Expected", "verdict": "Verdict",
        "basis": "Basis", "note": "Note", "caveat": "Caveat",
        "n_unit": "n counts", "table": "Table", "rows_valid": "Passed",
        "rows_rejected": "Rejected", "rules": "Rules broken", "name": "Name",
        "join_year": "Joined", "n_wave": "n in wave", "followup": "Follow-up",
        "n_baseline": "n baseline", "n_followup": "n follow-up", "retained": "In panel",
        "share_of_baseline": "Share of baseline", "share_of_followup": "Share of follow-up",
        "item": "Item", "category": "Answer", "count": "Count", "share": "Share",
        "n_answered": "Answered", "n_missing": "Not answered", "role": "Sector",
        "n_both": "Both", "n_a": "n A", "n_b": "n B", "jaccard": "Jaccard", "se": "SE",
        "p_adjusted": "p adjusted", "effect_size": "Effect size",
        "sim_ci_low": "Simultaneous CI low", "sim_ci_high": "Simultaneous CI high",
        "twfe_p_adjusted": "TWFE p adjusted", "boot_p_adjusted": "Bootstrap p adjusted",
        "cs_p_adjusted": "C&S p adjusted",
        "effect_size_kind": "Effect size kind", "n_treated": "n network",
        "n_control": "n comparison", "reversed": "Reversed", "n_kommuner": "Kommuner",
        "numerator": "Numerator", "denominator": "Denominator", "a": "Theme A", "b": "Theme B",
    },
}
VALUES = {
    "nb": {"network": "Nettverk", "comparison": "Sammenligning", "all": "Alle",
           "survey": "Spørreundersøkelse", "registry": "Register", "interviews": "Intervjuer"},
    "en": {"network": "Network", "comparison": "Comparison", "all": "All",
           "survey": "Survey", "registry": "Registry", "interviews": "Interviews"},
}


def t(key: str, language: str = "nb", **fmt: object) -> str:
    """The label ``key`` in ``language``."""
    text = LABELS.get(language, LABELS["nb"]).get(key) or LABELS["nb"][key]
    return text.format(**fmt) if fmt else text


# Parallel-trends sensitivity of the registry DiD (analysis.registry_sensitivity,
# report.sensitivity_report): kept together here so the other labels stay untouched
LABELS["nb"].update({
    "sens_title": "Hvor robust er registerresultatet for brudd på parallelle trender?",
    "sens_text": (
        "Forskjell-i-forskjeller forutsetter at nettverks- og sammenligningskommunene ville "
        "ha utviklet seg parallelt uten nettverket. Analysen etter Rambachan og Roth (2023) "
        "spør hvor store brudd på denne forutsetningen som tåles før konklusjonen faller bort. "
        "M̄ sier hvor stor endringen i trendforskjellen etter innmelding kan være, i forhold "
        "til den største endringen fra år til år før innmelding (M̄ = 1: like stor som den "
        "verste før innmelding). Figurene viser et robust 95 % konfidensintervall for "
        "gjennomsnittlig effekt i årene etter innmelding (TWFE-hendelsesstudien) for hver M̄, "
        "og intervallet under parallelle trender. Bruddverdien er den største M̄ der "
        "intervallet fortsatt utelukker 0: jo større, jo mer robust. M er den tilsvarende "
        "grensen for hvor mye trendforskjellens helning kan endre seg fra år til år "
        "(glatthet). Testen av parallelle trender før innmelding (Wald, χ²) har lav styrke "
        "med få kommuner: et ikke-signifikant resultat beviser ikke parallelle trender."),
    "sens_breakdowns": "Bruddverdier (M̄):",
    "sens_no_breakdown": "ingen bruddverdi (intervallet inneholder 0 allerede under "
    "parallelle trender)",
    "sens_no_breakdown_sd": "ingen bruddverdi for M: intervallet inneholder 0 allerede ved "
    "M = 0 (trenden før innmelding fremskrevet lineært)",
    "sens_insufficient": "for lite data",
    "sens_breakdown_line": "Bruddverdi",
    "sens_robust_ci": "Robust 95 % KI",
    "sens_original_ci": "95 % KI under parallelle trender",
    "sens_mbar": "M̄ (relativ størrelse på bruddet)",
    "sens_effect": "Gj.sn. effekt etter innmelding",
    "fig_registry_sensitivity": "Robust 95 % konfidensintervall for gjennomsnittlig effekt "
    "etter innmelding mot M̄ (Rambachan og Roth 2023, relative størrelser); til venstre "
    "intervallet under parallelle trender.",
    "tab_registry_breakdown": "Følsomhet for brudd på parallelle trender: bruddverdier og "
    "test av parallelle trender før innmelding.",
    "method_registry_breakdown": "Rambachan og Roth (2023) på TWFE-hendelsesstudien "
    "(gjennomsnitt av årene etter innmelding); M̄: ARP-test med minst gunstige hybrid (C-LF), "
    "M: optimalt intervall med fast lengde (FLCI); Wald-test (χ²) av koeffisientene før "
    "innmelding.",
})
LABELS["en"].update({
    "sens_title": "How robust is the registry result to violations of parallel trends?",
    "sens_text": (
        "Difference-in-differences assumes that the network and comparison kommuner would "
        "have developed in parallel without the network. The analysis after Rambachan and "
        "Roth (2023) asks how large a violation of this assumption can be before the "
        "conclusion goes away. M̄ says how large the change in the difference in trends after "
        "joining may be, relative to the largest year-to-year change before joining (M̄ = 1: "
        "as large as the worst one before joining). The figures show a robust 95 % confidence "
        "interval of the average effect in the years after joining (the TWFE event study) for "
        "each M̄, and the interval under parallel trends. The breakdown value is the largest "
        "M̄ at which the interval still excludes 0: the larger, the more robust. M is the "
        "corresponding bound on how much the slope of the difference in trends may change "
        "from one year to the next (smoothness). The test of parallel pre-trends (Wald, χ²) "
        "has little power with few kommuner: a non-significant result does not prove "
        "parallel trends."),
    "sens_breakdowns": "Breakdown values (M̄):",
    "sens_no_breakdown": "no breakdown value (the interval includes 0 already under parallel "
    "trends)",
    "sens_no_breakdown_sd": "no breakdown value for M: the interval includes 0 already at "
    "M = 0 (the pre-trend extrapolated linearly)",
    "sens_insufficient": "insufficient data",
    "sens_breakdown_line": "Breakdown value",
    "sens_robust_ci": "Robust 95 % CI",
    "sens_original_ci": "95 % CI under parallel trends",
    "sens_mbar": "M̄ (relative magnitude of the violation)",
    "sens_effect": "Avg. effect after joining",
    "fig_registry_sensitivity": "Robust 95 % confidence interval of the average effect after "
    "joining against M̄ (Rambachan and Roth 2023, relative magnitudes); on the left the "
    "interval under parallel trends.",
    "tab_registry_breakdown": "Sensitivity to violations of parallel trends: breakdown values "
    "and the test of parallel pre-trends.",
    "method_registry_breakdown": "Rambachan and Roth (2023) on the TWFE event study (average "
    "of the years after joining); M̄: ARP test with the least-favourable hybrid (C-LF), M: "
    "optimal fixed-length CI (FLCI); Wald test (χ²) of the coefficients before joining.",
})
COLUMNS["nb"].update({
    "pre_periods": "År før", "post_periods": "År etter", "breakdown_rm": "Bruddverdi M̄",
    "breakdown_sd": "Bruddverdi M", "wald_statistic": "Wald χ²", "wald_df": "fg",
    "wald_p": "Wald p",
})
COLUMNS["en"].update({
    "pre_periods": "Years before", "post_periods": "Years after",
    "breakdown_rm": "Breakdown M̄", "breakdown_sd": "Breakdown M",
    "wald_statistic": "Wald χ²", "wald_df": "df", "wald_p": "Wald p",
})

# The municipality profiles (report.profiles): their own texts, under keys "profile.<key>"
# (several keys, such as "network" or "survey", read differently in the study report)
LABELS["nb"].update({
    "profile.title": "Kommuneprofil",
    "profile.subtitle": "{name} ({code}) i {study}",
    "profile.joined": "Med i nettverket fra {year}.",
    "profile.generated": "Generert",
    "profile.synthetic": "Alle tall i denne profilen er SYNTETISKE (eksempelstudie).",
    "profile.key_figures": "Nøkkeltall",
    "profile.barometer": "Indikatorer",
    "profile.barometer_caption": "Siste år med verdi for kommunen, sammenlignet med nettverket, "
    "sammenligningskommunene og landet, og kommunens verdi året før innmelding.",
    "profile.trends": "Utvikling over tid",
    "profile.trends_caption": "{name}, nettverket og sammenligningskommunene per år; stiplet "
    "loddrett linje: innmelding i nettverket ({year}).",
    "profile.trends_reference": " {areas}: fra registerfilene (samme skala som kommunens verdier).",
    "profile.survey": "Spørreundersøkelsen",
    "profile.survey_caption": "Gjennomsnittlig skåre og antall svar per runde.",
    "profile.change_caption": "Endring fra baseline til oppfølging (forskjell i gjennomsnitt, "
    "95 % KI, Welch).",
    "profile.survey_fig_caption": "Gjennomsnittlig skåre per runde.",
    "profile.notes": "Merknader",
    "profile.indicator": "Indikator",
    "profile.year": "År",
    "profile.kommune": "Kommunen",
    "profile.network": "Nettverket",
    "profile.comparison": "Sammenligning",
    "profile.country": "Landet",
    "profile.country_line": "Hele landet",
    "profile.fylke": "Fylket",
    "profile.before_join": "Året før innmelding",
    "profile.scale": "Skala",
    "profile.wave": "Runde",
    "profile.group": "Gruppe",
    "profile.n": "n",
    "profile.mean": "Snitt",
    "profile.change": "Endring",
    "profile.ci": "95 % KI",
    "profile.from_to": "Fra–til",
    "profile.n_baseline": "n baseline",
    "profile.n_followup": "n oppfølging",
    "profile.not_available": "ikke tilgjengelig",
    "profile.suppressed_value": "prikket",
    "profile.country_na": "Landstall er ikke tilgjengelige i studiens data og vises ikke.",
    "profile.suppression": "Tall bygd på færre enn {k} personer er prikket (:). Antall svar er "
    "også skjult der de ellers kunne vært regnet ut fra nettverkets sum; da vises heller "
    "ikke gjennomsnittet.",
    "profile.small_n": "Få svar: for {scales} i {waves} vises ikke kommunens resultater.",
    "profile.estimated": "Verdier merket * er beregnet (kommunen ble delt, fordelt etter "
    "befolkningsandel).",
    "profile.pooled": "Nettverket og sammenligningskommunene er samlede rater (sum teller / sum "
    "nevner), så store kommuner veier mer.",
    "profile.unweighted": "{ind}: publisert som rate uten tellinger; gruppene er uvektede "
    "gjennomsnitt.",
    "profile.sent_indicator": "{ind}: {value} i {name} i {year}, mot {net} i nettverket og {cmp} "
    "i sammenligningskommunene.",
    "profile.sent_before": " Året før innmelding ({year}) var verdien {value}.",
    "profile.sent_suppressed": "{ind}: kommunens verdi for {year} er prikket (for få personer).",
    "profile.sent_better": "høyere er bedre",
    "profile.sent_worse": "lavere er bedre",
    "profile.sent_survey": "{scale}: skåren i {name} endret seg med {diff} fra {bl} til {fu} "
    "(95 % KI {lo} til {hi}; n = {n0} og {n1}).",
    "profile.sent_survey_net": " I nettverket samlet: {diff}.",
    "profile.sent_survey_hidden": "{scale}: for få svar i {name} til å vise endringen fra {bl} "
    "til {fu}.",
    "profile.to": "til",
})
LABELS["en"].update({
    "profile.title": "Municipality profile",
    "profile.subtitle": "{name} ({code}) in {study}",
    "profile.joined": "Member of the network since {year}.",
    "profile.generated": "Generated",
    "profile.synthetic": "All numbers in this profile are SYNTHETIC (example study).",
    "profile.key_figures": "Key figures",
    "profile.barometer": "Indicators",
    "profile.barometer_caption": "Latest year with a value for the kommune, against the network, "
    "the comparison kommuner and the country, and the kommune's value the year before it "
    "joined.",
    "profile.trends": "Trends",
    "profile.trends_caption": "{name}, the network and the comparison kommuner by year; dotted "
    "vertical line: joined the network ({year}).",
    "profile.trends_reference": " {areas}: from the registry files (on the kommune values' "
    "scale).",
    "profile.survey": "Survey",
    "profile.survey_caption": "Mean score and number of answers per wave.",
    "profile.change_caption": "Change from baseline to follow-up (difference in means, 95% CI, "
    "Welch).",
    "profile.survey_fig_caption": "Mean score per wave.",
    "profile.notes": "Notes",
    "profile.indicator": "Indicator",
    "profile.year": "Year",
    "profile.kommune": "Kommune",
    "profile.network": "Network",
    "profile.comparison": "Comparison",
    "profile.country": "Country",
    "profile.country_line": "Country",
    "profile.fylke": "County",
    "profile.before_join": "Year before joining",
    "profile.scale": "Scale",
    "profile.wave": "Wave",
    "profile.group": "Group",
    "profile.n": "n",
    "profile.mean": "Mean",
    "profile.change": "Change",
    "profile.ci": "95% CI",
    "profile.from_to": "From–to",
    "profile.n_baseline": "n baseline",
    "profile.n_followup": "n follow-up",
    "profile.not_available": "not available",
    "profile.suppressed_value": "suppressed",
    "profile.country_na": "National values are not in the study's data and are not shown.",
    "profile.suppression": "Numbers based on fewer than {k} people are suppressed (:). Answer "
    "counts are also hidden where they could be derived from the network total; the mean "
    "is then hidden too.",
    "profile.small_n": "Few answers: the kommune's results for {scales} in {waves} are not shown.",
    "profile.estimated": "Values marked * are estimated (the kommune was split; allocated by "
    "population share).",
    "profile.pooled": "Network and comparison are pooled rates (sum of numerators / sum of "
    "denominators), so larger kommuner weigh more.",
    "profile.unweighted": "{ind}: published as a rate without counts; the groups are unweighted "
    "means.",
    "profile.sent_indicator": "{ind}: {value} in {name} in {year}, against {net} in the network "
    "and {cmp} in the comparison kommuner.",
    "profile.sent_before": " The year before joining ({year}) the value was {value}.",
    "profile.sent_suppressed": "{ind}: the kommune's value for {year} is suppressed (too few "
    "people).",
    "profile.sent_better": "higher is better",
    "profile.sent_worse": "lower is better",
    "profile.sent_survey": "{scale}: the score in {name} changed by {diff} from {bl} to {fu} "
    "(95% CI {lo} to {hi}; n = {n0} and {n1}).",
    "profile.sent_survey_net": " In the network as a whole: {diff}.",
    "profile.sent_survey_hidden": "{scale}: too few answers in {name} to show the change from "
    "{bl} to {fu}.",
    "profile.to": "to",
})

def study_labels(study) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The labels of a study in its language: registry indicators, survey scales (id ->
    label, the id where study.yaml gives none) and kommune names (code -> name)."""
    from ..geography import kommune_name

    ind = {k: study.label(v.label, k) for k, v in study.registry.indicators.items()} \
        if study.registry else {}
    scales = {k: study.label(v.label, k) for k, v in study.survey.scales.items()} \
        if study.survey else {}
    kommuner = {c: kommune_name(c) for c in study.kommuner}
    return ind, scales, kommuner


# The collaboration network (issue 25): sociograms and the tie-change heatmap
# (report.sociogram); kept together here so the other labels stay untouched
LABELS["nb"].update({
    "network.strength.mean_frequency": "Linjebredde: hvor ofte (gjennomsnitt {lo}–{hi})",
    "network.strength.share_regular": "Linjebredde: andel som samarbeider jevnlig",
    "network.floor": "Bånd under {floor} er ikke tegnet",
    "network.quality": "Hvor godt samarbeidet fungerer (gjennomsnitt {lo}–{hi})",
    "network.no_quality": "kvalitet ikke målt",
    "network.quality_unknown": "kvalitet ukjent (n < {k})",
    "network.unknown": "ukjent (under n < {k})",
    "network.panel_wave": "runde {wave}",
    "network.from": "Fra (respondentenes tjeneste)",
    "network.to": "Til (tjenesten det spørres om)",
    "network.did": "Endring i bånd, nettverk − sammenligning",
    "network.did_colorbar": "Forskjell-i-forskjeller ({measure})",
    "network.suppressed_cell": ": prikket (for få svar)",
    "network.missing_cell": "– ikke beregnet",
})
LABELS["en"].update({
    "network.strength.mean_frequency": "Line width: how often (mean {lo}–{hi})",
    "network.strength.share_regular": "Line width: share who collaborate regularly",
    "network.floor": "Ties below {floor} are not drawn",
    "network.quality": "How well the collaboration works (mean {lo}–{hi})",
    "network.no_quality": "quality not measured",
    "network.quality_unknown": "quality unknown (n < {k})",
    "network.unknown": "unknown (n < {k})",
    "network.panel_wave": "wave {wave}",
    "network.from": "From (respondents' service)",
    "network.to": "To (service asked about)",
    "network.did": "Change in ties, network − comparison",
    "network.did_colorbar": "Difference-in-differences ({measure})",
    "network.suppressed_cell": ": suppressed (too few answers)",
    "network.missing_cell": "– not estimated",
})


# The collaboration network's outcomes (measures and pairs) as indicators: the logic chain's
# figure and evidence table (network:<measure>, network:tie:<A>-<B>)
LABELS["nb"].update({
    "network.measure.density": "Tetthet i samarbeidsnettverket",
    "network.measure.centralization": "Sentralisering i samarbeidsnettverket",
    "network.measure.reciprocity": "Gjensidig samarbeid",
    "network.measure.asymmetry": "Ulikt syn på samarbeidet (asymmetri)",
    "network.measure.isolated": "Tjenester uten jevnlig samarbeid",
    "network.measure.mean_quality": "Opplevd kvalitet på samarbeidet",
    "network.tie": "Bånd {a}–{b}",
})
LABELS["en"].update({
    "network.measure.density": "Density of the collaboration network",
    "network.measure.centralization": "Centralization of the collaboration network",
    "network.measure.reciprocity": "Reciprocal collaboration",
    "network.measure.asymmetry": "Services seeing their collaboration differently (asymmetry)",
    "network.measure.isolated": "Services without regular collaboration",
    "network.measure.mean_quality": "Perceived quality of collaboration",
    "network.tie": "Tie {a}–{b}",
})


def network_labels(study, language: str = "nb") -> dict[str, str]:
    """Outcome id -> label of the collaboration network's outcomes (the measures and every
    pair ``tie:<A>-<B>`` of ``survey.roles``); empty without ``survey.collaboration``."""
    if study.survey is None or study.survey.collaboration is None:
        return {}
    from ..analysis.collaboration import MEASURES

    roles = study.survey.roles or []
    out = {m: t(f"network.measure.{m}", language) for m in MEASURES}
    out.update({f"tie:{a}-{b}": t("network.tie", language, a=a, b=b)
                for i, a in enumerate(roles) for b in roles[i + 1:]})
    return out


# The collaboration network's section of the study report and its part of the profiles
# (report.sections.network, report.profiles)
LABELS["nb"].update({
    "network.pair_service": "Tjeneste",
    "network.did_pairs": "Endring i samarbeid per par, nettverk − sammenligning",
    "network_section": "Samhandlingsnettverket",
    "network_intro": (
        "De ansatte ble spurt hvor ofte tjenesten deres samarbeider med hver av de andre "
        "tjenestene om barn og unge (svar fra {lo} til {hi}, høyere er oftere){quality}. "
        "Ingen vurderer sin egen tjeneste. Et bånd fra tjeneste A til B er jevnlig når minst "
        "{share} av de ansatte i A som svarte, svarer {regular_from} eller mer. Tallene gjelder "
        "nettverkskommunene og sammenligningskommunene samlet (alle svar fra gruppen), ved "
        "baseline og i hver oppfølgingsrunde."),
    "network_intro_quality": ", og hvor godt samarbeidet fungerer ({lo}–{hi})",
    "network_measures_text": (
        "Tetthet: andel av mulige bånd som er jevnlige. Sentralisering: hvor mye samarbeidet "
        "samler seg om én tjeneste (0 = alle like, 1 = stjerne). Gjensidighet: andel jevnlige "
        "bånd der også motsatt bånd er jevnlig. Asymmetri: gjennomsnittlig forskjell mellom "
        "hvor ofte to tjenester sier de samarbeider med hverandre. Isolerte tjenester: "
        "tjenester uten noe jevnlig bånd. Gjennomsnittlig kvalitet: vektet etter antall svar."),
    "network_did_text": (
        "Forskjell-i-forskjeller: endringen fra baseline i nettverkskommunene minus endringen "
        "i sammenligningskommunene, med kommunene som enhet (randomiseringsinferens over hvilke "
        "kommuner som er i nettverket). Tabellen viser målene og, for hver oppfølgingsrunde, de "
        "{n} parene av tjenester med lavest p-verdi (alle parene står i figuren og i CSV-"
        "tabellen). Et konfidensintervall er «ubegrenset» når det er for få kommuner til å "
        "utelukke noen effektstørrelse."),
    "network_heatmap_text": "Endringen per par er endringen i gjennomsnittlig hyppighet "
                            "(begge retninger).",
    "network_suppressed_text": (
        "Bånd med færre enn {k} svar er prikket (stiplet grått i figurene), og også bånd "
        "som kunne vært regnet ut fra summen over kommunene. Et mål for en gruppe og runde "
        "vises ikke når et av båndene det bygger på er prikket."),
    "unbounded": "ubegrenset",
    "tab_network_measures": "Nettverksmål for nettverks- og sammenligningskommunene per runde.",
    "tab_network_ties_pooled": "Samarbeidsbånd mellom tjenestene, nettverks- og "
                               "sammenligningskommunene samlet, per runde.",
    "tab_network_ties_kommune": "Samarbeidsbånd mellom tjenestene per kommune og runde.",
    "tab_network_did": "Endring i samarbeidsnettverket, nettverk mot sammenligning "
                       "(forskjell-i-forskjeller).",
    "fig_network_sociograms": "Jevnlig samarbeid mellom tjenestene (sosiogram) ved baseline og "
                              "i siste runde. Pilen går fra tjenesten som svarte til tjenesten "
                              "det ble spurt om; tykkelsen viser hvor ofte, fargen hvor godt.",
    "fig_network_tie_change": "Endring i samarbeid per par av tjenester fra baseline til siste "
                              "runde, nettverk minus sammenligning.",
    "network.short.density": "Tetthet",
    "network.short.centralization": "Sentralisering",
    "network.short.reciprocity": "Gjensidighet",
    "network.short.asymmetry": "Asymmetri",
    "network.short.isolated": "Isolerte tjenester",
    "network.short.mean_quality": "Gjennomsnittlig kvalitet",
    "profile.network_ties": "Samarbeid mellom tjenestene",
    "profile.network_ties_caption": (
        "{name} ved baseline og i siste runde: pilene går fra tjenesten som svarte til "
        "tjenesten det ble spurt om, tykkelsen viser hvor ofte, fargen hvor godt. Bånd med "
        "færre enn {k} svar (eller som kunne vært regnet ut fra nettverkets sum) er prikket "
        "og tegnet stiplet grått; plassering og farger er de samme som i rapporten."),
})
LABELS["en"].update({
    "network.pair_service": "Service",
    "network.did_pairs": "Change in collaboration per pair, network − comparison",
    "network_section": "The collaboration network",
    "network_intro": (
        "Staff were asked how often their service works with each of the other services "
        "about children and youth (answers {lo} to {hi}, higher is more often){quality}. Nobody "
        "rates their own service. A tie from service A to B is regular when at least {share} "
        "of A's staff who answered say {regular_from} or more. The figures are for the network "
        "and the comparison kommuner as groups (all answers of the group), at baseline and "
        "in each follow-up wave."),
    "network_intro_quality": ", and how well the collaboration works ({lo}–{hi})",
    "network_measures_text": (
        "Density: share of the possible ties that are regular. Centralization: how much the "
        "collaboration gathers around one service (0 = all alike, 1 = a star). Reciprocity: "
        "share of regular ties whose reverse is regular too. Asymmetry: mean difference "
        "between how often two services say they work with each other. Isolated services: "
        "services without any regular tie. Mean quality: weighted by the number of answers."),
    "network_did_text": (
        "Difference-in-differences: the change from baseline in the network kommuner minus the "
        "change in the comparison kommuner, with the kommune as the unit (randomization "
        "inference over which kommuner are in the network). The table shows the measures and, "
        "for each follow-up wave, the {n} pairs of services with the smallest p-value (every "
        "pair is in the figure and the CSV table). A confidence interval is \"unbounded\" when "
        "there are too few kommuner to rule out any effect size."),
    "network_heatmap_text": "The change per pair is the change in the mean frequency (both "
                            "directions).",
    "network_suppressed_text": (
        "Ties with fewer than {k} answers are suppressed (dashed grey in the figures), and so "
        "are ties that could be derived from the sum over the kommuner. A measure of a group "
        "and wave is not shown when one of the ties it is built from is suppressed."),
    "unbounded": "unbounded",
    "tab_network_measures": "Network measures of the network and comparison kommuner by wave.",
    "tab_network_ties_pooled": "Collaboration ties between the services, network and "
                               "comparison kommuner pooled, by wave.",
    "tab_network_ties_kommune": "Collaboration ties between the services by kommune and wave.",
    "tab_network_did": "Change in the collaboration network, network vs comparison "
                       "(difference-in-differences).",
    "fig_network_sociograms": "Regular collaboration between the services (sociogram) at "
                              "baseline and in the latest wave. Arrows go from the service that "
                              "answered to the service asked about; width shows how often, "
                              "colour how well.",
    "fig_network_tie_change": "Change in collaboration per pair of services from baseline to "
                              "the latest wave, network minus comparison.",
    "network.short.density": "Density",
    "network.short.centralization": "Centralization",
    "network.short.reciprocity": "Reciprocity",
    "network.short.asymmetry": "Asymmetry",
    "network.short.isolated": "Isolated services",
    "network.short.mean_quality": "Mean quality",
    "profile.network_ties": "Collaboration between the services",
    "profile.network_ties_caption": (
        "{name} at baseline and in the latest wave: arrows go from the service that answered "
        "to the service asked about, width shows how often, colour how well. Ties with fewer "
        "than {k} answers (or that could be derived from the network's sum) are suppressed "
        "and drawn dashed grey; places and colours are those of the report."),
})
COLUMNS["nb"].update({
    "from_service": "Fra tjeneste", "to_service": "Til tjeneste",
    "mean_frequency": "Hvor ofte (snitt)", "share_regular": "Andel jevnlig",
    "regular": "Jevnlig", "n_quality": "n kvalitet", "mean_quality": "Kvalitet (snitt)",
    "quality_suppressed": "Kvalitet prikket", "measure": "Mål",
    "n_respondents": "Svar",
})
COLUMNS["en"].update({
    "from_service": "From service", "to_service": "To service",
    "mean_frequency": "How often (mean)", "share_regular": "Share regular",
    "regular": "Regular", "n_quality": "n quality", "mean_quality": "Quality (mean)",
    "quality_suppressed": "Quality suppressed", "measure": "Measure",
    "n_respondents": "Answers",
})
#: the source ``network`` in a table's source column (its group label would read
#: "Nettverk" / "Network", the network kommuner)
SOURCE_VALUES = {"nb": {"network": "Samhandlingsnettverk"},
                 "en": {"network": "Collaboration network"}}
