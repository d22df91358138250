"""synthlake: can LLM-generated data replace or augment labelled data for a text classifier?

The engine, plain Python with no Dagster import; `assets/` wraps it, `orchestration/`
wires the assets. Modules in pipeline order:

    settings     every SYNTHLAKE_* variable, declared once (the only reader of them)
    vocabulary   the stored words as enums: methods, training sources, statuses, reasons
    tables       every lake table: columns, Arrow types, partitions, descriptions
    lake         Delta tables on disk, DuckDB over them; writes conform to `tables`
    catalog      task YAML -> validated `TaskSpec`; a run's spec pinned once
    realdata     a task's real data: read, validate, de-duplicate, stable ids
    prompts      the zero-shot and few-shot prompts of Li et al., built from a spec
    llm/         the one door to an LLM: session(), client, limits, journal, embedded model
    parse        a raw answer -> one candidate text, or a rejection with its reason
    similarity   duplicates, near duplicates, copies of demonstrations or test texts
    generate     plan -> requests -> answers -> accepted or rejected rows, per task x method
    embed        sentence embeddings of real and synthetic texts, cached by text hash
    diversity    remote clique, chamfer, similarity to real data
    train        classifiers per training source and seed, evaluated on the real test split
    subjectivity task ranking from pairwise judgments; per-instance annotator agreement
    versions     generation versions of a task: history and differences
    export       accepted rows as Parquet, JSON lines or a Hugging Face dataset
    plots        PNG figures for asset metadata and the report
    report       the report page: headline table, plots, provenance
    cli          the `synthlake` command (imported by nothing)

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
