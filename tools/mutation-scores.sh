#!/usr/bin/env bash
# Re-measure the "Mutation scores" table of docs/contributing.md: a sampled run of
# tools/mutate.py per module, niced, each bounded by --budget. Reports (text and JSON) go to
# $OUT (default .mutation/); the last lines printed are the table rows.
#
#   tools/mutation-scores.sh                # every module below
#   tools/mutation-scores.sh engine fold    # only these
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
OUT="${OUT:-.mutation}"
SAMPLE="${SAMPLE:-40}"
SEED="${SEED:-1}"
BUDGET="${BUDGET:-1200}"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT"

declare -A MODULE TESTS
MODULE[engine]=src/servicewf/engine.py
TESTS[engine]="tests/engine tests/contract tests/integrity"
MODULE[plain]=src/servicewf/plain.py
TESTS[plain]="tests/engine tests/contract tests/integrity"
MODULE[base]=src/servicewf/storage/base.py
TESTS[base]="tests/engine tests/contract tests/integrity"
MODULE[fold]=src/servicewf/sla/_fold.py
TESTS[fold]="tests/sla tests/scenarios"
MODULE[calendar]=src/servicewf/calendar/core.py
TESTS[calendar]="tests/calendar"
PROCESS_TESTS="tests/processes/test_rules.py tests/processes/test_random_walks.py tests/integrity"
for p in access_grant incident service_request obligation after_sales consultation contract \
        contract_change customer_data_change improvement_action service_problem survey_campaign; do
    MODULE[$p]=src/servicewf/processes/$p.py
    TESTS[$p]="tests/processes/test_$p.py $PROCESS_TESTS"
done
MODULE[complaint]=src/servicewf/processes/complaint.py
TESTS[complaint]="tests/processes/test_complaint.py tests/scenarios tests/sla"
MODULE[sla_processor]=src/servicewf/sla/processor.py
TESTS[sla_processor]="tests/sla tests/scenarios tests/integrity"
MODULE[common]=src/servicewf/processes/common.py
TESTS[common]="tests/processes tests/integrity"
MODULE[explain]=src/servicewf/explain.py
TESTS[explain]="tests/test_explain.py"
MODULE[notices]=src/servicewf/processes/notices.py
TESTS[notices]="tests/engine/test_outbox_messages.py tests/outbox tests/processes/test_common_edges.py"
MODULE[cadence]=src/servicewf/processes/cadence.py
TESTS[cadence]="tests/processes/test_cadence.py tests/processes/test_schedule.py tests/processes/test_obligation.py"
MODULE[schedule]=src/servicewf/processes/schedule.py
TESTS[schedule]="tests/processes/test_schedule.py tests/processes/test_obligation.py"
MODULE[presets]=src/servicewf/processes/presets.py
TESTS[presets]="tests/processes/test_presets_table.py tests/sla/test_service_request_clocks.py"
MODULE[policies]=src/servicewf/processes/policies.py
TESTS[policies]="tests/processes/test_stack_and_policies.py tests/sla/test_policy.py"
MODULE[stack]=src/servicewf/processes/stack.py
TESTS[stack]="tests/processes/test_stack_and_policies.py tests/test_cli.py"
MODULE[approval]=src/servicewf/processes/approval.py
TESTS[approval]="tests/processes tests/integrity"
MODULE[interop_source]=src/servicewf/interop/source.py
TESTS[interop_source]="tests/interop/test_source.py tests/interop/test_roundtrip.py"
MODULE[interop_replay]=src/servicewf/interop/replay.py
TESTS[interop_replay]="tests/interop/test_replay.py tests/interop/test_roundtrip.py"
MODULE[interop_export]=src/servicewf/interop/export.py
TESTS[interop_export]="tests/interop/test_roundtrip.py tests/interop/test_cli.py tests/interop/test_export_masker.py tests/privacy/test_masked_outputs.py"
MODULE[reporting]=src/servicewf/reporting/kpi.py
TESTS[reporting]="tests/reporting/test_kpis_vs_pandas.py tests/reporting/test_properties.py tests/reporting/test_rows.py"
MODULE[reporting_html]=src/servicewf/reporting/html.py
TESTS[reporting_html]="tests/reporting/test_report_html.py tests/reporting/test_rows.py"
MODULE[sla_data]=src/servicewf/sla/data.py
TESTS[sla_data]="tests/sla/test_policy_data.py tests/sla/test_policy_cli.py tests/processes/test_sla_data_presets.py"
MODULE[sla_combined]=src/servicewf/sla/combined.py
TESTS[sla_combined]="tests/sla/test_policy_data.py tests/processes/test_sla_data_presets.py"
COMPLIANCE_TESTS="tests/compliance/test_rules.py tests/compliance/test_mutations.py tests/compliance/test_data_monitor_cli.py"
MODULE[compliance_rules]=src/servicewf/compliance/rules.py
TESTS[compliance_rules]="$COMPLIANCE_TESTS"
MODULE[compliance_checker]=src/servicewf/compliance/checker.py
TESTS[compliance_checker]="tests/compliance/test_rules.py tests/compliance/test_data_monitor_cli.py"
MODULE[compliance_fast]=src/servicewf/compliance/_fast.py
TESTS[compliance_fast]="tests/compliance/test_rules.py"
MODULE[compliance_monitor]=src/servicewf/compliance/monitor.py
TESTS[compliance_monitor]="tests/compliance/test_data_monitor_cli.py"
MODULE[scheduler]=src/servicewf/scheduler.py
TESTS[scheduler]="tests/scheduler tests/sla/test_sweep_production.py tests/sla/test_sweep_details.py"
for p in core recognisers masking vault consent catalogue reader; do
    MODULE[privacy_$p]=src/servicewf/privacy/$p.py
    TESTS[privacy_$p]="tests/privacy"
done
MODULE[json]=src/servicewf/json.py
TESTS[json]="tests/frameworks/test_json.py"
MODULE[aio]=src/servicewf/aio.py
TESTS[aio]="tests/frameworks/test_aio.py"
MODULE[django_store]=src/servicewf/contrib/django/store.py
TESTS[django_store]="tests/frameworks/test_django_store.py"
for q in policy assignment query routing; do
    MODULE[queues_$q]=src/servicewf/queues/$q.py
    TESTS[queues_$q]="tests/queues"
done

names=("$@")
[ ${#names[@]} -eq 0 ] && names=(engine plain base fold calendar sla_processor access_grant incident
    service_request obligation complaint after_sales consultation contract contract_change
    customer_data_change improvement_action service_problem survey_campaign common notices explain
    cadence schedule presets policies stack approval interop_source interop_replay interop_export
    reporting reporting_html sla_data sla_combined compliance_rules compliance_checker
    compliance_fast compliance_monitor scheduler privacy_core privacy_recognisers privacy_masking
    privacy_vault privacy_consent privacy_catalogue json aio django_store queues_policy
    queues_assignment queues_query queues_routing privacy_reader)
for name in "${names[@]}"; do
    # shellcheck disable=SC2086
    nice -n 10 "$PY" tools/mutate.py "${MODULE[$name]}" --tests ${TESTS[$name]} \
        --sample "$SAMPLE" --seed "$SEED" --budget "$BUDGET" --json "$OUT/$name.json" \
        >"$OUT/$name.txt" 2>"$OUT/$name.log" || echo "$name: tools/mutate.py failed (see $OUT/$name.log)"
    grep '^MUTATION' "$OUT/$name.txt"
done
for name in "${names[@]}"; do grep '^table row:' "$OUT/$name.txt" | sed 's/^table row: //'; done
