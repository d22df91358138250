"""synthlake: can LLM-generated data replace or augment labelled data for a text classifier?

The engine, plain Python with no Dagster import; `assets/` wraps it, `orchestration/`
wires the assets. One folder per stage, named after its Dagster asset group, beside the
core that serves them all; the map below is generated from each module's docstring
(`python -m synthlake.layout --write`, checked by tests/unit/test_layout.py):

<!-- package-map:start -->
    synthlake/  the core: shared by every stage, imports none
        catalog       The task catalogue: one YAML file per task, validated into a `TaskSpec`.
        cli           `synthlake`: the pipeline from a terminal, with the same engine code the assets
                      call.
        embed         Sentence embeddings of real and synthetic texts, cached by (model, text hash).
        evidence      Uncertainty of what the classifiers score: a bootstrap over test texts x training
                      draws.
        gates         Which generated sets a blocking quality check held, from Delta's own history.
        lake          The lake: Delta tables (via `deltalake`) in a local folder or on object storage,
                      and DuckDB over them.
        layout        The engine's map: its stages, what each may import, and the package map generated
                      from each module's own docstring (so the map cannot drift from the code).
        progress      Progress of long work (generation, training), for whoever is watching.
        realdata      Real labelled data of a task: read, validate, de-duplicate, give stable ids.
        settings      Every environment variable synthlake reads, declared once: name, default, meaning.
        tables        Every lake table declared once: name, description, partition columns, Arrow
                      schema.
        vocabulary    Every word the pipeline stores or matches on, declared once as an enum: generation
                      methods, training sources, classifiers, label-fidelity judges and filter stages,
                      data-map regions, row statuses and rejection reasons.
    synthlake/llm/  One door to every LLM: `session()` (see `session.py`), for generation, the judges,
                      the tests and the benchmark alike.
        batch         Batch mode: the same requests through a provider's batch API, at its batch price.
        client        The client of any OpenAI-compatible endpoint: journal, limits, retries, budget.
        config        Where and how to call the LLM (`EndpointConfig`), the errors that stop a run, and
                      the scrubbing that keeps secrets out of every message and record.
        embedded      The embedded default LLM: SmolLM2-135M-Instruct on a local OpenAI-compatible
                      server.
        journal       The response journal: every LLM answer is durable the moment it arrives.
        limits        Client-side limits: adaptive concurrency (AIMD on 429s) and per-minute token
                      buckets.
        session       The one way in: `session()` opens the endpoint (or starts the embedded model), the
                      response journal, and per piece of work a client; it closes all three.
        transport     The wire: POST `/chat/completions` to an OpenAI-compatible endpoint over aiohttp.
        types         What goes to an endpoint and what is counted: `ChatRequest`, its key, `Usage`.
    synthlake/generation/  Generation: prompts, answers parsed and checked, the label filter, every
                      method.
        attributes    Attributes the model proposes, and the balanced sampler of attributed generation.
        fidelity      Label fidelity: does each synthetic text carry the label it was generated for?
        generate      Plan -> requests -> raw responses -> parsed, filtered examples, for one task and
                      method.
        parse         From a raw LLM answer to one candidate text, or a rejection with its reason.
        plan          A cost forecast before spending: a small pilot, then the full run extrapolated.
        prompts       Prompts of the generation methods (Li et al., EMNLP 2023, and attributed), from a
                      TaskSpec.
        rounds        Error-driven rounds (after S3, Wang et al. 2023): more data where a small
                      classifier errs.
        similarity    Text similarity shared by generation (rejections) and the quality checks
                      (verdicts): one definition, so a set that generation accepts is a set the checks
                      pass.
    synthlake/measures/  Measures of generated sets: diversity, coverage of the task, and version
                      differences.
        coverage      Coverage: which corners of a task the generated data covers, and where it fails.
        diversity     Diversity of a set of texts, and its similarity to real data (Li et al.; Cox et
                      al. 2021).
        versions      Generation versions of a task: history and differences, from Delta's own versions.
    synthlake/evaluation/  Evaluation: classifiers trained per source, learning curves, what a set is
                      worth.
        cartography   Dataset cartography (Swayamdipta et al., EMNLP 2020): where each training row sits
                      on the map of its training dynamics.
        curves        Learning curves, and what a synthetic set is worth in real labelled examples.
        train         Classifiers trained on real or synthetic data, evaluated on the real test split.
    synthlake/subjectivity/  Subjectivity: task rankings from judgments, their reliability, proxies from
                      real data.
        proxies       Objectivity proxies: rankings of the tasks from real data alone, each named a
                      proxy wherever it is shown (they stand in for the paper's crowd judgments; they
                      are not them).
        ranking       Subjectivity: a task ranking from pairwise judgments, and per-instance agreement.
        reliability   How far a pairwise task ranking can be trusted: the judge's consistency, its
                      position bias, and the spread of each task's Bradley-Terry score.
    synthlake/analysis/  Analysis: the report page, its plots, and exports of the accepted rows.
        export        Export accepted synthetic examples: Parquet, JSON lines, or a Hugging Face dataset
                      folder with a dataset card (model, prompts, counts, checks, diversity, cost,
                      citation).
        plots         Plots as PNG files (matplotlib, no display), for asset metadata and reports.
        report        One readable page from the lake: headline table, plots and provenance.

<!-- package-map:end -->

Glossary:

    method        how texts are generated: `zero_shot` or `few_shot` (`vocabulary.Method`)
    slot          one planned request within a label (its place in the plan); its sampling
                  seed derives from task, method, label and slot, so a rerun asks the same
                  requests and the journal answers them for free
    source        where a text comes from: `real` or a method (embeddings, diversity)
    train_source  what a classifier is trained on: `real` (size-matched to the synthetic
                  sets), `real_full`, a method's accepted rows, or the demonstrations plus
                  the few-shot rows (`vocabulary.TrainSource`)
    request_key   hash of model, messages, parameters and slot: the journal's key
    prompt_version  hash of everything in a task spec that shapes a prompt
"""
