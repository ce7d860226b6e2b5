// The chat-format reference: llama.cpp's own common/chat.cpp (the release libllama comes from),
// driven by JSON cases on stdin, answering JSON on stdout. For each case: the chat params
// (prompt, generation prompt, grammar, lazy triggers, preserved tokens, thinking tags), the
// template's autoparser analysis (when the autoparser handles it) and the message each given
// text parses to, partial or final. scripts/chat_reference.ts builds it and writes the golden
// data our tests compare with; it is not part of llamafile.
#include "chat.h"
#include "chat-auto-parser.h"
#include "common.h"
#include "json.h"

#include <cstdio>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

using json = common_json;

static json msg_json(const common_chat_msg & msg) {
    json tool_calls = json::array();
    for (const auto & tc : msg.tool_calls) {
        tool_calls.push_back({ { "name", tc.name }, { "arguments", tc.arguments }, { "id", tc.id } });
    }
    return json{
        { "content", msg.content },
        { "reasoning_content", msg.reasoning_content },
        { "tool_calls", tool_calls },
    };
}

static common_reasoning_format reasoning_format(const json & inputs) {
    return common_reasoning_format_from_name(inputs.value("reasoning_format", std::string("none")));
}

static json analysis_json(const common_chat_template & tmpl) {
    autoparser::autoparser a;
    a.analyze_template(tmpl);
    std::ostringstream rm, cm, tm, cp;
    rm << a.reasoning.mode;
    cm << a.content.mode;
    tm << a.tools.format.mode;
    cp << a.tools.call_id.pos;
    return json{
        { "user_start", a.user_start },
        { "assistant_start", a.assistant_start },
        { "reasoning", { { "mode", rm.str() }, { "start", a.reasoning.start }, { "end", a.reasoning.end } } },
        { "content", { { "mode", cm.str() }, { "start", a.content.start }, { "end", a.content.end },
                       { "requires_nonnull_content", a.content.requires_nonnull_content } } },
        { "tools", {
            { "mode", tm.str() },
            { "section_start", a.tools.format.section_start },
            { "section_end", a.tools.format.section_end },
            { "per_call_start", a.tools.format.per_call_start },
            { "per_call_end", a.tools.format.per_call_end },
            { "fun_name_is_key", a.tools.format.fun_name_is_key },
            { "tools_array_wrapped", a.tools.format.tools_array_wrapped },
            { "openai_wrapper_trigger", a.tools.format.openai_wrapper_trigger },
            { "function_field", a.tools.format.function_field },
            { "name_field", a.tools.format.name_field },
            { "args_field", a.tools.format.args_field },
            { "id_field", a.tools.format.id_field },
            { "gen_id_field", a.tools.format.gen_id_field },
            { "parameter_order", a.tools.format.parameter_order },
            { "name_prefix", a.tools.function.name_prefix },
            { "name_suffix", a.tools.function.name_suffix },
            { "args_separator", a.tools.function.args_separator },
            { "close", a.tools.function.close },
            { "args_start", a.tools.arguments.start },
            { "args_end", a.tools.arguments.end },
            { "arg_name_prefix", a.tools.arguments.name_prefix },
            { "arg_name_suffix", a.tools.arguments.name_suffix },
            { "arg_value_prefix", a.tools.arguments.value_prefix },
            { "arg_value_suffix", a.tools.arguments.value_suffix },
            { "arg_separator", a.tools.arguments.separator },
            { "tolerate_intertag_whitespace", a.tools.arguments.tolerate_intertag_whitespace },
            { "call_id_pos", cp.str() },
            { "call_id_prefix", a.tools.call_id.prefix },
            { "call_id_suffix", a.tools.call_id.suffix },
        } },
        { "caps", a.jinja_caps.to_map() },
        { "preserved_tokens", a.preserved_tokens },
        { "additional_stops", a.additional_stops },
    };
}

static json run_case(const json & c) {
    json out = json::object();
    const std::string source = c.at("source").get<std::string>();
    auto tmpls = common_chat_templates_init(nullptr, source, c.value("bos", std::string("")),
                                            c.value("eos", std::string("")));
    const json & in = c.at("inputs");
    common_chat_templates_inputs inputs;
    inputs.messages = common_chat_msgs_parse_oaicompat(in.at("messages"));
    if (in.contains("tools")) {
        inputs.tools = common_chat_tools_parse_oaicompat(in.at("tools"));
    }
    inputs.tool_choice = common_chat_tool_choice_parse_oaicompat(in.value("tool_choice", std::string("auto")));
    inputs.parallel_tool_calls   = in.value("parallel_tool_calls", false);
    inputs.reasoning_format      = reasoning_format(in);
    inputs.enable_thinking       = in.value("enable_thinking", true);
    inputs.add_generation_prompt = in.value("add_generation_prompt", true);
    if (in.contains("continue_final_message")) {
        inputs.continue_final_message = common_chat_continuation_parse(in.at("continue_final_message"));
    }
    if (in.contains("json_schema")) {
        inputs.json_schema = in.at("json_schema").dump();
    }
    if (in.contains("chat_template_kwargs")) {
        for (const auto & [k, v] : in.at("chat_template_kwargs").items()) {
            inputs.chat_template_kwargs[k] = v.dump();
        }
    }
    out["now"] = (long long) std::time(nullptr);
    common_chat_params params;
    try {
        params = common_chat_templates_apply(tmpls.get(), inputs);
    } catch (const std::exception & e) {
        out["error"] = e.what();
        return out;
    }
    out["prompt"]             = params.prompt;
    out["generation_prompt"]  = params.generation_prompt;
    out["grammar"]            = params.grammar;
    out["grammar_lazy"]       = params.grammar_lazy;
    json triggers             = json::array();
    for (const auto & t : params.grammar_triggers) {
        triggers.push_back({ { "type", (int) t.type }, { "value", t.value } });
    }
    out["grammar_triggers"]   = triggers;
    out["preserved_tokens"]   = params.preserved_tokens;
    out["additional_stops"]   = params.additional_stops;
    out["supports_thinking"]  = params.supports_thinking;
    out["thinking_start_tag"] = params.thinking_start_tag;
    out["thinking_end_tags"]  = params.thinking_end_tags;
    out["format"]             = common_chat_format_name(params.format);
    if (c.value("analysis", false)) {
        try {
            common_chat_template tmpl(source, c.value("bos", std::string("")), c.value("eos", std::string("")));
            out["analysis"] = analysis_json(tmpl);
        } catch (const std::exception & e) {
            out["analysis"] = { { "error", e.what() } };
        }
    }
    json parsed = json::array();
    if (c.contains("parse")) {
        common_chat_parser_params pp(params);
        pp.reasoning_format = inputs.reasoning_format;
        pp.parser.load(params.parser);
        for (const auto & p : c.at("parse")) {
            try {
                auto msg = common_chat_parse(p.at("text").get<std::string>(), p.value("partial", false), pp);
                parsed.push_back(msg_json(msg));
            } catch (const std::exception & e) {
                parsed.push_back({ { "error", e.what() } });
            }
        }
    }
    out["parsed"] = parsed;
    return out;
}

int main() {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    json cases = json::parse(text);
    json results = json::array();
    for (const auto & c : cases) {
        try {
            results.push_back(run_case(c));
        } catch (const std::exception & e) {
            results.push_back({ { "error", e.what() } });
        }
    }
    std::cout << results.dump(1) << std::endl;
    return 0;
}
