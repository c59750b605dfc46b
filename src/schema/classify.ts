// Tells which kind of conversation item a runtime's value is, so appendTurn can group a turn's
// items into entries the way the runtime saw them. Knows OpenAI Responses items, Anthropic
// Messages (whole messages and single content blocks), pi's agent messages (`toolResult` role,
// `toolCall` blocks) and chainlog's neutral shape. System and developer messages are `other`:
// instructions, grouped with what hooks inject.

export type ItemClass = 'user_message' | 'assistant_message' | 'tool_call' | 'reasoning' | 'tool_result' | 'other'

/** A function that classifies items; pass your own to appendTurn for other shapes. */
export type ItemClassifier = (item: unknown) => ItemClass

const TOOL_CALL_TYPES = new Set([
  // neutral
  'tool_call',
  // OpenAI Responses
  'function_call',
  'custom_tool_call',
  'local_shell_call',
  'shell_call',
  'apply_patch_call',
  'computer_call',
  'web_search_call',
  'file_search_call',
  'code_interpreter_call',
  'image_generation_call',
  'mcp_call',
  'mcp_list_tools',
  'mcp_approval_request',
  // Anthropic content blocks
  'tool_use',
  'server_tool_use',
  'mcp_tool_use',
  // pi (pi-ai) content blocks
  'toolCall',
])

const TOOL_RESULT_TYPES = new Set([
  'tool_result',
  'function_call_output',
  'custom_tool_call_output',
  'local_shell_call_output',
  'shell_call_output',
  'apply_patch_call_output',
  'computer_call_output',
  'mcp_approval_response',
  'web_search_tool_result',
  'mcp_tool_result',
  'code_execution_tool_result',
  'bash_code_execution_tool_result',
  'text_editor_code_execution_tool_result',
  'web_fetch_tool_result',
  'tool_search_tool_result',
])

const REASONING_TYPES = new Set(['reasoning', 'thinking', 'redacted_thinking'])

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * The default classifier.
 * @example classifyItem({ type: 'function_call', call_id: 'c1', name: 'ls', arguments: '{}' }) // 'tool_call'
 */
export function classifyItem(item: unknown): ItemClass {
  if (!isObject(item)) return 'other'
  const type = item.type
  if (typeof type === 'string') {
    if (TOOL_CALL_TYPES.has(type)) return 'tool_call'
    if (TOOL_RESULT_TYPES.has(type)) return 'tool_result'
    if (REASONING_TYPES.has(type)) return 'reasoning'
    if (type !== 'message') return 'other'
  }
  // A message: OpenAI Responses `{type:'message', role, content}`, an easy input message
  // `{role, content}`, an Anthropic message, or the neutral shape.
  const role = item.role
  if (role === 'assistant') return 'assistant_message'
  // pi: `{ role: 'toolResult', toolCallId, toolName, content, isError }`.
  if (role === 'toolResult') return 'tool_result'
  if (role === 'user') {
    // Anthropic returns tool results inside a user message made only of tool_result blocks.
    const content = item.content
    if (Array.isArray(content) && content.length > 0 && content.every((b) => isObject(b) && b.type === 'tool_result')) {
      return 'tool_result'
    }
    return 'user_message'
  }
  return 'other'
}
