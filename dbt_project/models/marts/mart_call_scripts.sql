-- Call scripts and their answers: one row per call with script answers and question of its script.
-- The questions a script expects are the ones it put to the caller: every question in the call's script answers
-- (operators' scripts record each question, null when not answered; the robot's script is its one question).
-- A script is completed when every one of its questions has an answer (a non-empty one).
with calls as (
    select
        call_id,
        started_at,
        coalesce(operator_id, toInt64(0)) as operator_id,
        is_robot,
        direction,
        coalesce(script_name, '') as script_name,
        script_answers
    from {{ ref('fct_calls') }}
    where not empty(script_answers)
),

questions as (
    select
        calls.*,
        arrayJoin(arrayEnumerate(mapKeys(script_answers))) as question_position,
        mapKeys(script_answers)[question_position] as question,
        mapValues(script_answers)[question_position] as answer_text,
        length(script_answers) as script_questions,
        arrayCount(answer -> answer != '', mapValues(script_answers)) as script_answered
    from calls
)

select
    toInt64(questions.call_id) as call_id,
    toUInt32(questions.question_position) as question_position,
    toDateTime64(questions.started_at, 3, 'UTC') as started_at,
    toDate({{ company_date('questions.started_at') }}) as day,
    toInt64(questions.operator_id) as operator_id,
    toString(coalesce(operators.operator_name, '(unassigned)')) as operator_name,
    toBool(questions.is_robot) as is_robot,
    toString(questions.direction) as direction,
    toString(if(questions.script_name = '', '(unnamed)', questions.script_name)) as script_name,
    toString(questions.question) as question,
    toString(if(questions.answer_text = '', '(not answered)', questions.answer_text)) as answer,
    toBool(questions.answer_text != '') as is_question_answered,
    toUInt32(questions.script_questions) as script_questions,
    toUInt32(questions.script_answered) as script_answered,
    toBool(questions.script_answered = questions.script_questions) as is_script_completed
from questions
left join {{ ref('dim_operators') }} as operators on operators.operator_id = questions.operator_id
settings join_use_nulls = 1
